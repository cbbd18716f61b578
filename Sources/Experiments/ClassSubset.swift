import Datasets
import TrainingCore

/// Some classes of an image dataset, as sweep files write them ("0-4", "5-9", "0,2,4").
enum ClassSubset {
  /// `text` read: comma-separated classes or ranges `a-b`, each 0-255, distinct, at least two.
  static func parse(_ text: String, experiment: String) throws -> [UInt8] {
    func problem() -> ExperimentError {
      ExperimentError(
        message:
          "\(experiment): classes '\(text)' must list two or more distinct classes, as \"0-4\" or \"0,2,4\".")
    }
    var list: [UInt8] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map {
        UInt8(String($0.filter { !$0.isWhitespace }))
      }
      guard (1...2).contains(bounds.count), let low = bounds.first!, let high = bounds.last!, low <= high
      else {
        throw problem()
      }
      list += Array(low...high)
    }
    guard list.count >= 2, Set(list).count == list.count else { throw problem() }
    return list
  }

  /// The training and test images of `classes`, relabelled 0, 1, ... in that order; `written` is
  /// the parameter's text, for messages.
  static func images(
    of dataset: ImageDataset, classes: [UInt8], written: String, data: PinnedImageData, experiment: String
  ) throws -> (train: LabeledImages, test: LabeledImages) {
    if let missing = classes.first(where: { Int($0) >= dataset.classes }) {
      throw ExperimentError(
        message:
          "\(experiment): class \(missing) is not among the \(dataset.classes) classes of \(data.description)."
      )
    }
    let train = LabeledImages(
      pixels: dataset.train.images, labels: dataset.train.labels, pixelsPerImage: dataset.pixelsPerImage
    ).restricted(to: classes)
    let test = LabeledImages(
      pixels: dataset.test.images, labels: dataset.test.labels, pixelsPerImage: dataset.pixelsPerImage
    ).restricted(to: classes)
    guard train.count > 0, test.count > 0 else {
      throw ExperimentError(
        message: "\(experiment): \(data.description) has no training or no test images of classes \(written)."
      )
    }
    return (train, test)
  }
}
