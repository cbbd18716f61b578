/// Settings of the teacher-guided inner step (meta-experiments.md §3.1d); defaults are the
/// paper's MNIST → Fashion-MNIST column.
public struct TeacherGuidedSettings: Sendable, Equatable {
  /// α, the student's and the teacher's step size (0.05; no momentum).
  public var stepSize = 0.05
  /// c, the feature-matching loss's coefficient (300).
  public var lossScale = 300.0
  /// The Huber loss's δ (1).
  public var huber = 1.0
  /// Units of each of the meta-learner's LSTM layers (32).
  public var hidden = 32
  /// The meta-learner's stacked LSTM layers (3).
  public var lstmLayers = 3
  /// How GroupNorm's γ and β learn: plain SGD unless set (every run from before this setting used it).
  public var groupNormRule = GroupNormRule.sgd
  /// Units of each LSTM layer of the GroupNorm meta-learners (32 in the paper's CIFAR column).
  public var groupNormHidden = 32

  public init() {}

  /// meta-experiments.md §3.2's smoke column: meta-learners of 2 LSTM layers of 16 units, for the
  /// weight layers and for GroupNorm alike (the other settings as the paper's).
  public static let smoke: TeacherGuidedSettings = {
    var settings = TeacherGuidedSettings()
    settings.hidden = 16
    settings.lstmLayers = 2
    settings.groupNormHidden = 16
    return settings
  }()
}

/// How a student's GroupNorm scales γ and shifts β learn during the task-B phase.
public enum GroupNormRule: String, CaseIterable, Sendable {
  /// Plain SGD, like the biases and the classifier.
  case sgd
  /// A meta-learner per GroupNorm layer, as the paper gives its CIFAR ResNets: the channels are its
  /// neurons, each seeing [γ_c, β_c, ∂γ_c, ∂β_c] and giving the δ of γ_c and of β_c
  /// (``MetaLearnerInputs/makeGroupNorm(network:layer:parameters:gradient:)``).
  case meta
}

/// One inner step of meta-training with a multi-task teacher, for one student network: the
/// teacher steps on the multi-task batch, the student on task B alone with its steered layers'
/// gradients scaled by their meta-learners, and the feature-matching loss between the two new
/// representations is backpropagated, first order, into every meta-learner through the current
/// truncation window (meta-experiments.md §3.1d):
///
///     teacher:  w ← w − α·∇w CE(w; xa ∪ xb)
///     student:  g = ∇W CE(W; xb);  δ_ℓ = f_ℓ(z_ℓ(W, g, activations on xb));
///               W_ℓ ← W_ℓ − α·δ_ℓ⊙g_ℓ (steered weights), W ← W − α·g (biases, classifier)
///     L = c · mean Huber(r(xa ∪ xb; W) − r(xa ∪ xb; w))
///     ∂L/∂δ_{ℓ,k} = −α·g_{ℓ,k}⊙D_ℓ for every step k of the window, D = ∂L/∂W (same for every k)
///
/// The steered layers are every convolution or dense layer followed by a ReLU, directly or through
/// GroupNorm and a residual add (``MetaLearnerInputs/postLayer(network:layer:)``: all but the
/// classifier), then, with ``GroupNormRule/meta``, every GroupNorm layer (the paper's CIFAR
/// meta-learners of γ and β); otherwise γ and β learn by plain SGD like the biases. The
/// representation is layer count − 2: the last hidden ReLU's output in a LeNet, the global average
/// pool in a ResNet.
/// Generic in the number type, so the replay test runs the same code in `Double`.
public struct TeacherGuidedStep<T: NetworkScalar>: Sendable {
  /// The student's (and teacher's) network, union head included.
  public let network: ConvNet
  /// The layers the meta-learners steer, and each one's meta-learner shape.
  public let steered: [Int]
  public let shapes: [LayerMetaLearnerShape]
  /// The parameters each meta-learner's δ (neurons × outputs) scales, in δ's order: a steered
  /// weight layer's weights, or a GroupNorm layer's γ_c and β_c channel by channel.
  public let targets: [[Int]]
  public let settings: TeacherGuidedSettings
  /// The representation's layer.
  public var representation: Int { network.layers.count - 2 }
  var studentWorkspace: ConvNetWorkspace<T>
  var teacherWorkspace: ConvNetWorkspace<T>

  public init(network: ConvNet, settings: TeacherGuidedSettings, batchCapacity: Int) {
    self.network = network
    self.settings = settings
    let weighted = network.layers.indices.filter {
      MetaLearnerInputs.postLayer(network: network, layer: $0) != nil
    }
    // GroupNorm layers come after the weight layers, so those keep the meta-learners (and the
    // initial draws) they have under the plain-SGD rule.
    let norms =
      settings.groupNormRule == .meta
      ? network.layers.indices.filter {
        if case .groupNorm = network.layers[$0] { true } else { false }
      } : []
    steered = weighted + norms
    shapes =
      weighted.map { layer in
        LayerMetaLearnerShape(
          inputs: MetaLearnerInputs.width(network: network, layer: layer),
          outputs: network.parameterRanges[layer]!.rowLength, hidden: settings.hidden,
          layers: settings.lstmLayers)
      }
      + norms.map { _ in
        LayerMetaLearnerShape(
          inputs: MetaLearnerInputs.groupNormWidth, outputs: 2, hidden: settings.groupNormHidden,
          layers: settings.lstmLayers)
      }
    targets =
      weighted.map { Array(network.parameterRanges[$0]!.weights) }
      + norms.map { layer in
        let range = network.parameterRanges[layer]!
        return zip(range.weights, range.biases).flatMap { [$0, $1] }
      }
    studentWorkspace = ConvNetWorkspace(network: network, batchCapacity: batchCapacity)
    teacherWorkspace = ConvNetWorkspace(network: network, batchCapacity: batchCapacity)
  }

  /// Initial meta-learner parameters, one vector per steered layer.
  public func initialMetaParameters(seed: UInt64) -> [[T]] {
    shapes.enumerated().map { index, shape in
      LayerMetaLearner.initialParameters(shape: shape, seed: seed, layer: index)
    }
  }

  /// What an episode carries between inner steps besides θ: the student's and the teacher's
  /// parameters, the meta-learners' states, and the current truncation window (each step's
  /// records and steered gradients g_ℓ, per steered layer).
  public struct Episode: Sendable {
    public var student: [T]
    public var teacher: [T]
    public var states: [LayerMetaLearner.State<T>]
    public var window: [[LayerMetaLearner.StepRecord<T>]]
    public var windowGradients: [[[T]]]
    /// The δ of every steered layer at the last step, in steered-layer order (for Fig. 7).
    public var lastDeltas: [[T]] = []

    /// An episode from `parameters` for both networks, zero states and an empty window.
    public init(parameters: [T], step: TeacherGuidedStep<T>) {
      student = parameters
      teacher = parameters
      states = zip(step.targets, step.shapes).map { targets, shape in
        LayerMetaLearner.State(shape: shape, neurons: targets.count / shape.outputs)
      }
      window = Array(repeating: [], count: step.steered.count)
      windowGradients = window.map { _ in [] }
    }

    /// Cuts the gradient path here: the next window starts from the current W and states.
    public mutating func truncate() {
      for k in window.indices {
        window[k].removeAll()
        windowGradients[k].removeAll()
      }
    }
  }

  /// One inner step. `multitask` is xa ∪ xb (images and union labels), `taskB` is xb; the student
  /// learns from `taskB` only. Returns L and ∂L/∂θ_ℓ for every meta-learner, through the window
  /// this step joins.
  public mutating func step(
    episode: inout Episode, meta: [[T]], multitask: (images: [T], labels: [Int32]),
    taskB: (images: [T], labels: [Int32])
  ) -> (loss: Double, metaGradient: [[T]]) {
    let network = network
    let alpha = T(settings.stepSize)
    // Teacher: plain SGD on the multi-task batch.
    let teacherGradient = Self.gradient(
      network, of: episode.teacher, images: multitask.images, labels: multitask.labels,
      workspace: &teacherWorkspace)
    for k in episode.teacher.indices { episode.teacher[k] -= alpha * teacherGradient[k] }
    studentStep(episode: &episode, meta: meta, taskB: taskB)
    // The feature-matching loss between the new representations, and D = ∂L/∂W.
    let count = multitask.labels.count
    Self.forward(
      network, episode.teacher, images: multitask.images, count: count, through: representation,
      workspace: &teacherWorkspace)
    Self.forward(
      network, episode.student, images: multitask.images, count: count, through: representation,
      workspace: &studentWorkspace)
    let teacherFeatures = teacherWorkspace.output(representation, network: network)
    let settings = settings
    let representation = representation
    let loss = studentWorkspace.withOutputAndGradient(representation, network: network) { student, gradient in
      FeatureMatchingLoss.loss(
        student: student, teacher: teacherFeatures, scale: settings.lossScale, huber: settings.huber,
        gradient: gradient)
    }
    var d = [T](repeating: 0, count: network.parameterCount)
    network.backward(
      parameters: episode.student, from: representation, gradient: &d, workspace: &studentWorkspace)
    // ∂L/∂δ_{ℓ,k} = −α·g_{ℓ,k}⊙D_ℓ, then BPTT through each meta-learner's window.
    var metaGradient: [[T]] = []
    for index in steered.indices {
      let dLayer = targets[index].map { d[$0] }
      let outputGradients = episode.windowGradients[index].map { gk in
        zip(gk, dLayer).map { -alpha * $0 * $1 }
      }
      var gradient = [T](repeating: 0, count: shapes[index].parameterCount)
      LayerMetaLearner.backward(
        shape: shapes[index], parameters: meta[index], window: episode.window[index],
        outputGradients: outputGradients, gradient: &gradient)
      metaGradient.append(gradient)
    }
    return (loss, metaGradient)
  }

  /// The student's half of a step (also the "ours" method of the evaluation): its task-B gradient
  /// g, each steered layer's scaled by that layer's meta-learner, W_ℓ ← W_ℓ − α·δ_ℓ⊙g_ℓ, the rest
  /// W ← W − α·g; each steered layer's record and g_ℓ join the window.
  public mutating func studentStep(episode: inout Episode, meta: [[T]], taskB: (images: [T], labels: [Int32]))
  {
    let network = network
    let alpha = T(settings.stepSize)
    let g = Self.gradient(
      network, of: episode.student, images: taskB.images, labels: taskB.labels, workspace: &studentWorkspace)
    var next = episode.student
    for k in next.indices { next[k] -= alpha * g[k] }
    episode.lastDeltas = []
    for (index, layer) in steered.enumerated() {
      let z =
        if case .groupNorm = network.layers[layer] {
          MetaLearnerInputs.makeGroupNorm(
            network: network, layer: layer, parameters: episode.student, gradient: g)
        } else {
          MetaLearnerInputs.make(
            network: network, layer: layer, parameters: episode.student, gradient: g,
            workspace: studentWorkspace)
        }
      let (delta, record) = LayerMetaLearner.step(
        shape: shapes[index], parameters: meta[index], inputs: z, state: &episode.states[index])
      for (offset, k) in targets[index].enumerated() {
        next[k] = episode.student[k] - alpha * delta[offset] * g[k]
      }
      episode.window[index].append(record)
      episode.windowGradients[index].append(targets[index].map { g[$0] })
      episode.lastDeltas.append(delta)
    }
    episode.student = next
  }

  /// ∇ of the mean cross-entropy of `labels` at `parameters`, leaving the forward pass in `workspace`.
  ///
  /// Static, like ``forward(_:_:images:count:through:workspace:)``: a method of `self` called with
  /// `&self.workspace` would keep a second reference to the workspace's buffers for the call and
  /// copy them all (megabytes) on the first write.
  static func gradient(
    _ network: ConvNet, of parameters: [T], images: [T], labels: [Int32], workspace: inout ConvNetWorkspace<T>
  ) -> [T] {
    let last = network.layers.count - 1
    forward(network, parameters, images: images, count: labels.count, through: last, workspace: &workspace)
    _ = labels.withUnsafeBufferPointer { labels in
      workspace.withOutputAndGradient(last, network: network) { logits, out in
        SoftmaxCrossEntropy.loss(logits: logits, labels: labels, classes: network.output.count, gradient: out)
      }
    }
    var gradient = [T](repeating: 0, count: network.parameterCount)
    network.backward(parameters: parameters, from: last, gradient: &gradient, workspace: &workspace)
    return gradient
  }

  static func forward(
    _ network: ConvNet, _ parameters: [T], images: [T], count: Int, through layer: Int,
    workspace: inout ConvNetWorkspace<T>
  ) {
    network.forward(
      parameters: parameters, input: images, batch: count, through: layer, workspace: &workspace)
  }
}
