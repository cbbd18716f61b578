import Experiments
import SweepModel
import Testing
import TrainingCore

@Test func geoffConfig_fromNoParameters_holdsEveryDeclaredDefault_inTheTrainingCoresSettings() throws {
  var expected = GeoffRunSettings()
  expected.learner.rule.stepSize = Float(0.0005)
  expected.learner.rule.rmspropEpsilon = Float(1e-10)
  expected.learner.rule.adamEpsilon = Float(1e-8)
  #expect(try GeoffConfig(parameters: [:]).runSettings == expected)
  // Each declared default is what the descriptor lists and run keys are completed with.
  for declaration in GeoffConfig.parameters {
    let listed = GeoffExperiment.descriptor.parameter(declaration.descriptor.name)
    #expect(listed?.defaultValue == declaration.descriptor.defaultValue)
  }
}

@Test func parameterWrittenToTwoFields_fillsBoth_andAFloatIsTheSweepFilesNumberRoundedOnce() throws {
  let config = try GeoffConfig(parameters: ["inputs": .int(7), "step_size": .double(0.1), "eta": .int(1)])
  #expect(config.runSettings.task.inputs == 7 && config.runSettings.learner.inputs == 7)
  #expect(config.runSettings.learner.rule.stepSize == Float(0.1))
  #expect(config.runSettings.learner.rule.eta == 1)
}

@Test func parameterOutOfRange_orOfTheWrongKind_namesTheExperimentAndTheParameter() {
  for (name, value) in [
    ("batch", ParameterValue.int(0)), ("mode", .string("sometimes")), ("steps", .double(1.5)),
  ] {
    do {
      _ = try LSTMMetaLearningConfig(parameters: [name: value])
      Issue.record("accepted \(name) = \(value)")
    } catch let error as ExperimentError {
      #expect(error.message.hasPrefix("lstm-metalearning parameter \(name):"), "\(error.message)")
    } catch {
      Issue.record("\(error)")
    }
  }
}

@Test func lstmConfig_choicesOutsideAnEnumOfTheCore_reachTheSettingsTheyStandFor() throws {
  let noXor = try LSTMMetaLearningConfig(
    parameters: ["boolean_functions": .string("no-xor"), "test_parameters": .string("best")])
  #expect(noXor.trainingSettings.sequences.allowedBooleanFunctions.count == 14)
  #expect(noXor.testsBestParameters && noXor.testSequenceSettings.allowedBooleanFunctions.count == 16)
  #expect(throws: ExperimentError.self) {
    try LSTMMetaLearningConfig(parameters: [
      "boolean_functions": .string("no-xor"), "family": .string("quadratic"),
    ])
  }
}
