/// Images with their labels, as the training core takes them: one byte a pixel, images one after
/// another in file order.
public struct LabeledImages: Sendable {
  /// `count` × `pixelsPerImage` bytes.
  public let pixels: [UInt8]
  /// One label a image, each below the dataset's class count.
  public let labels: [UInt8]
  /// Pixels of one image (784 for 28 × 28).
  public let pixelsPerImage: Int

  public init(pixels: [UInt8], labels: [UInt8], pixelsPerImage: Int) {
    precondition(
      pixelsPerImage > 0 && pixels.count == labels.count * pixelsPerImage, "pixels do not fit the labels")
    self.pixels = pixels
    self.labels = labels
    self.pixelsPerImage = pixelsPerImage
  }

  /// How many images there are.
  public var count: Int { labels.count }

  /// The first `count` images (all if there are fewer).
  public func prefix(_ count: Int) -> LabeledImages {
    let count = min(count, self.count)
    return LabeledImages(
      pixels: Array(pixels.prefix(count * pixelsPerImage)), labels: Array(labels.prefix(count)),
      pixelsPerImage: pixelsPerImage)
  }

  /// The images of `classes` only, in their order here, relabelled by their place in `classes`
  /// (with classes [5, 6, 7, 8, 9], class 7 becomes label 2).
  public func restricted(to classes: [UInt8]) -> LabeledImages {
    var newLabel = [UInt8?](repeating: nil, count: 256)
    for (index, label) in classes.enumerated() { newLabel[Int(label)] = UInt8(index) }
    var pixels: [UInt8] = []
    var labels: [UInt8] = []
    for index in 0..<count {
      guard let label = newLabel[Int(self.labels[index])] else { continue }
      labels.append(label)
      pixels += self.pixels[(index * pixelsPerImage)..<((index + 1) * pixelsPerImage)]
    }
    return LabeledImages(pixels: pixels, labels: labels, pixelsPerImage: pixelsPerImage)
  }
}

/// Everything one label-shift run needs besides its data and seed; defaults are the crossprop
/// paper's MNIST experiment (notes/geoff-spec.md §3).
public struct LabelShiftRunSettings: Sendable, Equatable {
  /// The classifier and its update rule.
  public var classifier = OnlineClassifierSettings()
  /// Training images per stage: the first this many, in file order, never shuffled (50,000).
  public var examplesPerTask = 50_000
  /// Stages: task A, then B and C, whose labels are A's shifted down by one and by two; 4 to 6
  /// replay A, B, C with the same images (3).
  public var stages = 3
  /// Examples per point of the loss, error and drift series (1,000).
  public var binSize = 1000
  /// Final examples of each stage whose error rate and loss are the stage's summary (5,000).
  public var tailExamples = 5000
  /// Drift as ‖·‖ or ‖·‖² (‖·‖).
  public var normConvention = NormConvention.l2
  /// Training images (the first, in file order) whose hidden activations are kept after every
  /// stage, for Fig. 4's t-SNE (0, none; the paper uses 2,500).
  public var embeddingImages = 0

  public init() {}

  /// The label shift of 0-based stage `stage`: A, B, C, A, B, C.
  public func shift(stage: Int) -> Int { stage % 3 }

  /// The distinct tasks of the run (A, B, C, or fewer).
  public var distinctTasks: Int { min(stages, 3) }
}

/// What one label-shift run recorded.
public struct LabelShiftRunRecord: Sendable, Equatable {
  /// Mean cross-entropy (pre-update, prequential) of each bin of examples.
  public var binnedLoss: [Double] = []
  /// Fraction of each bin's examples misclassified before their update.
  public var binnedErrorRate: [Double] = []
  /// ‖U − U₀‖ (hidden biases excluded) after each bin.
  public var inputWeightDrift: [Double] = []
  /// ‖W − W₀‖ (output biases excluded) after each bin.
  public var outputWeightDrift: [Double] = []
  /// Error rate over the last `tailExamples` of each stage.
  public var stageErrorRate: [Double] = []
  /// Mean loss over the last `tailExamples` of each stage.
  public var stageLoss: [Double] = []
  /// ‖U − U₀‖ and ‖W − W₀‖ at the end of each stage.
  public var stageInputWeightDrift: [Double] = []
  public var stageOutputWeightDrift: [Double] = []
  /// Test-set accuracy at the end of each stage (outer) under each task's labelling (inner).
  public var testAccuracy: [[Double]] = []
  /// Hidden activations of the first `embeddingImages` training images after each stage (outer),
  /// image-major (images × hidden units); empty when none were asked for.
  public var hiddenActivations: [[Float]] = []
}

/// The crossprop paper's continual classification: one classifier learns task A, then B, then C
/// online, where B and C are A's images with labels shifted down by one and two classes
/// (new = (old − shift) mod classes: B rolls the one-hot vector left by one).
public enum LabelShiftRun {
  /// Runs the trial of `settings` on `train` and `test` with root seed `seed`. A pure function of
  /// its arguments.
  public static func run(
    settings: LabelShiftRunSettings, train: LabeledImages, test: LabeledImages, seed: UInt64
  )
    -> LabelShiftRunRecord
  {
    let classes = settings.classifier.classes
    precondition(
      train.pixelsPerImage == settings.classifier.inputs && test.pixelsPerImage == train.pixelsPerImage)
    precondition(settings.examplesPerTask >= 1 && settings.examplesPerTask <= train.count)
    precondition(settings.binSize > 0 && settings.examplesPerTask % settings.binSize == 0)
    precondition(settings.tailExamples > 0 && settings.tailExamples <= settings.examplesPerTask)
    precondition(settings.embeddingImages <= train.count)
    let initial = OnlineClassifier(settings: settings.classifier, seed: seed)
    var classifier = initial
    var record = LabelShiftRunRecord()
    let perImage = train.pixelsPerImage
    let perTask = settings.examplesPerTask
    let tailStart = perTask - settings.tailExamples
    train.pixels.withUnsafeBufferPointer { pixels in
      for stage in 0..<settings.stages {
        let shift = settings.shift(stage: stage)
        var (tailLoss, tailErrors) = (0.0, 0)
        for bin in 0..<(perTask / settings.binSize) {
          var (binLoss, binErrors) = (0.0, 0)
          for example in (bin * settings.binSize)..<((bin + 1) * settings.binSize) {
            let label = (Int(train.labels[example]) + classes - shift) % classes
            let image = UnsafeBufferPointer(
              rebasing: pixels[(example * perImage)..<((example + 1) * perImage)])
            let prediction = classifier.learn(image, label: label)
            let wrong = prediction.predictedClass == label ? 0 : 1
            binLoss += prediction.loss
            binErrors += wrong
            if example >= tailStart {
              tailLoss += prediction.loss
              tailErrors += wrong
            }
          }
          record.binnedLoss.append(binLoss / Double(settings.binSize))
          record.binnedErrorRate.append(Double(binErrors) / Double(settings.binSize))
          let drift = classifier.squaredDrift(from: initial)
          record.inputWeightDrift.append(settings.normConvention.drift(squaredNorm: drift.input))
          record.outputWeightDrift.append(settings.normConvention.drift(squaredNorm: drift.output))
        }
        record.stageLoss.append(tailLoss / Double(settings.tailExamples))
        record.stageErrorRate.append(Double(tailErrors) / Double(settings.tailExamples))
        record.stageInputWeightDrift.append(record.inputWeightDrift[record.inputWeightDrift.count - 1])
        record.stageOutputWeightDrift.append(record.outputWeightDrift[record.outputWeightDrift.count - 1])
        record.testAccuracy.append(
          accuracies(of: &classifier, on: test, tasks: settings.distinctTasks, classes: classes))
        if settings.embeddingImages > 0 {
          var activations: [Float] = []
          activations.reserveCapacity(settings.embeddingImages * settings.classifier.hiddenUnits)
          for index in 0..<settings.embeddingImages {
            let image = UnsafeBufferPointer(rebasing: pixels[(index * perImage)..<((index + 1) * perImage)])
            activations += classifier.hiddenActivations(image)
          }
          record.hiddenActivations.append(activations)
        }
      }
    }
    return record
  }

  /// The accuracy of `classifier`'s predictions on `test` under the labelling of each of the first
  /// `tasks` tasks (shift 0, 1, 2), from one forward pass an image.
  static func accuracies(
    of classifier: inout OnlineClassifier, on test: LabeledImages, tasks: Int, classes: Int
  )
    -> [Double]
  {
    var correct = [Int](repeating: 0, count: tasks)
    test.pixels.withUnsafeBufferPointer { pixels in
      for index in 0..<test.count {
        let image = UnsafeBufferPointer(
          rebasing: pixels[(index * test.pixelsPerImage)..<((index + 1) * test.pixelsPerImage)])
        let predicted = classifier.predictedClass(image)
        for task in 0..<tasks where (Int(test.labels[index]) + classes - task) % classes == predicted {
          correct[task] += 1
        }
      }
    }
    return correct.map { Double($0) / Double(max(test.count, 1)) }
  }
}
