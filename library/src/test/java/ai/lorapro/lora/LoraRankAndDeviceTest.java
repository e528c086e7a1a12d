package ai.lorapro.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.lorapro.InvalidInputException;
import ai.lorapro.nn.Weights;

import org.junit.jupiter.api.Test;

/** The rank limit r <= min(in, out), PEFT's Gaussian init, and device placement of LoraLinear. */
class LoraRankAndDeviceTest {

    @Test
    void aRankLargerThanTheLayerIsRefusedBeforeAnyLayerChanges() {
        LoraInjectorTest.TinyModel model = new LoraInjectorTest.TinyModel();
        // every projection is 4 x 4
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> LoraInjector.inject(model, LoraConfig.builder().setR(4096).setAlpha(8).build()));
        assertTrue(e.getMessage().contains("self_attn.q_proj") && e.getMessage().contains("r <= 4"), e.getMessage());
        assertTrue(LoraInjector.adaptedLayers(model).isEmpty(), "a refused configuration adapted a layer");
        // r = min(in, out) is allowed
        assertEquals(4, LoraInjector.inject(model, LoraConfig.builder().setR(4).setAlpha(8).build()).size());
    }

    @Test
    void aRankLargerThanABuiltLayerIsRefused() {
        LoraConfig config = LoraConfig.builder().setR(3).setAlpha(6).build();
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> LoraLinear.builder().setInFeatures(16).setOutFeatures(2).optLora(config).build());
        assertTrue(e.getMessage().contains("r <= 2"), e.getMessage());
    }

    @Test
    void gaussianInitHasPeftsStandardDeviationOneOverR() {
        int r = 4;
        int in = 4096;
        LoraLinear layer = LoraLinear.builder().setInFeatures(in).setOutFeatures(8)
                .optLora(LoraConfig.builder().setR(r).setAlpha(8).optInit(LoraConfig.Init.GAUSSIAN).build())
                .build();
        try (NDManager manager = NDManager.newBaseManager()) {
            layer.initialize(manager, DataType.FLOAT32, new Shape(1, in));
            float[] a = layer.getLoraA().getArray().toFloatArray();
            double sum = 0;
            double squares = 0;
            for (float v : a) {
                sum += v;
                squares += (double) v * v;
            }
            double mean = sum / a.length;
            double std = Math.sqrt(squares / a.length - mean * mean);
            // 16384 draws: the sample std is within 2% of 1/r = 0.25 (1/sqrt(r) would be 0.5)
            assertEquals(1.0 / r, std, 0.005);
        }
    }

    /**
     * A layer whose arrays live on the CPU but belong to a manager of GPU 1, as DJL's
     * ParameterStore attaches device copies: the adapter and the float16 path's promotion must be
     * created on the arrays' device (the CPU build cannot create anything on a GPU).
     */
    @Test
    void adapterAndPromotionAreCreatedOnTheArraysDevice() {
        try (NDManager cpu = NDManager.newBaseManager();
                NDManager gpuManager = NDManager.newBaseManager(Device.gpu(1))) {
            LoraLinear layer = LoraLinear.builder().setInFeatures(6).setOutFeatures(5).build();
            NDArray w0 = cpu.randomNormal(new Shape(5, 6)).toType(DataType.FLOAT16, false);
            w0.attach(gpuManager);
            Weights.assign(layer.getWeight(), w0);
            layer.addAdapter(LoraConfig.builder().setR(2).setAlpha(4).build());
            assertEquals(Device.cpu(), layer.getLoraA().getArray().getDevice());
            assertEquals(Device.cpu(), layer.getLoraB().getArray().getDevice());
            NDArray x = cpu.randomNormal(new Shape(3, 6)).toType(DataType.FLOAT16, false);
            x.attach(gpuManager);
            NDArray y = layer.forward(new ParameterStore(cpu, false), new NDList(x), false).singletonOrThrow();
            assertEquals(DataType.FLOAT32, y.getDataType());
            assertEquals(Device.cpu(), y.getDevice());
            assertFalse(y.isNaN().any().getBoolean());
        }
    }
}
