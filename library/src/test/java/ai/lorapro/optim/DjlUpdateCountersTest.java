package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Our optimizers keep DJL's update counters themselves (they override DJL's protected {@code
 * updateCount}); this test holds them to DJL's own rule, so that a DJL version that counts
 * differently fails here instead of shifting users' learning-rate schedules.
 */
class DjlUpdateCountersTest extends ManagedTest {

    /** Calls DJL's {@code update} of {@code optimizer} on the parameters in {@code order}. */
    private void drive(Optimizer optimizer, List<Parameter> parameters, int[] order) {
        for (int i : order) {
            Parameter p = parameters.get(i);
            optimizer.update(p.getId(), p.getArray(), manager.ones(p.getArray().getShape()));
        }
    }

    @Test
    void ourCountersFollowDjlsRule() {
        int[] order = {0, 1, 0, 0, 2, 1, 2, 2, 2};
        for (int begin : new int[] {0, 5}) {
            List<Parameter> ours = parameters();
            List<Parameter> djls = parameters();
            List<Integer> oursAsked = new ArrayList<>();
            List<Integer> djlAsked = new ArrayList<>();
            drive(PlainAdamW.builder().setLearningRateTracker(recording(oursAsked)).optBeginNumUpdate(begin).build(),
                    ours, order);
            drive(Optimizer.sgd().setLearningRateTracker(recording(djlAsked)).optBeginNumUpdate(begin).build(),
                    djls, order);
            assertEquals(order.length, djlAsked.size(), "DJL's SGD no longer asks its tracker once per update");
            assertEquals(djlAsked, oursAsked, "DJL's update counting changed (begin " + begin + ")");
        }
    }

    private static Tracker recording(List<Integer> asked) {
        return numUpdate -> {
            asked.add(numUpdate);
            return 0.01f;
        };
    }

    private List<Parameter> parameters() {
        Random rng = new Random(1);
        List<Parameter> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            NDArray value = random(rng, 2, 3);
            out.add(trainable("p" + i, value));
        }
        return out;
    }
}
