package ai.lorapro.examples;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.optim.LoraProAdamW;

/** Trains a small LoRA model on synthetic data with LoRA-Pro AdamW in a DJL trainer. */
public final class QuickStart {

    private QuickStart() {}

    /** Runs 20 training steps and prints the loss. */
    public static void main(String[] args) {
        Engine.getInstance().setRandomSeed(42); // the same data and initial weights every run
        LoraConfig lora = LoraConfig.builder().setR(4).setAlpha(8).build();
        SequentialBlock net = new SequentialBlock()
                .add(LoraLinear.builder().setInFeatures(16).setOutFeatures(32).optLora(lora).build())
                .add(Activation::relu)
                // a 1-wide layer cannot hold a rank-4 adapter (r <= min(in, out)): a frozen head
                .add(LoraLinear.builder().setInFeatures(32).setOutFeatures(1).build());
        // the optimizer holds its state in native memory: close it (DJL's Trainer does not)
        try (LoraProAdamW optimizer = LoraProAdamW.builder()
                        .setLearningRateTracker(Tracker.fixed(1e-2f))
                        .addLoraLayers(net)
                        .build();
                Model model = Model.newInstance("quickstart")) {
            model.setBlock(net);
            try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(optimizer))) {
                trainer.initialize(new Shape(64, 16));
                NDArray x = trainer.getManager().randomNormal(new Shape(64, 16));
                NDArray y = x.sum(new int[] {1}, true).sin();
                for (int step = 1; step <= 20; step++) {
                    // a step's arrays live in its own manager, closed after the update: in the trainer's
                    // manager every step's activations would stay until the end
                    try (NDManager stepManager = trainer.getManager().newSubManager()) {
                        NDList input = new NDList(x.duplicate());
                        NDList label = new NDList(y.duplicate());
                        input.attach(stepManager);
                        label.attach(stepManager);
                        try (GradientCollector collector = trainer.newGradientCollector()) {
                            NDArray loss = trainer.getLoss().evaluate(label, trainer.forward(input));
                            collector.backward(loss);
                            System.out.println("step " + step + " loss " + loss.getFloat());
                        }
                        trainer.step();
                    }
                }
            }
        }
    }
}
