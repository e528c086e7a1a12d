package ai.lorapro.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.train.CausalLmTask;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.Devices;
import ai.lorapro.train.Evaluator;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code lorapro eval}: the loss and perplexity of a model, optionally with an adapter, on a data file. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluation loss and perplexity of a model (and adapter) on a JSON-lines file.")
public final class EvalCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory.")
    private Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter directory to apply.")
    private Path adapter;

    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "JSON lines of {\"prompt\",\"response\"} or {\"text\"}.")
    private Path data;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json instead of the model's.")
    private Path tokenizer;

    @Option(names = "--batch", paramLabel = "N", description = "Examples per forward pass (default: ${DEFAULT-VALUE}).")
    private int batch = 8;

    @Option(names = "--max-seq-length", paramLabel = "N",
            description = "Truncate examples to N tokens (default: ${DEFAULT-VALUE}).")
    private int maxSeqLength = 512;

    @Option(names = "--device", paramLabel = "DEVICE", description = "auto, cpu or gpu (default: ${DEFAULT-VALUE}).")
    private String device = "auto";

    @Override
    public Integer call() {
        if (batch < 1 || maxSeqLength < 2) {
            throw new InvalidInputException("--batch must be >= 1 and --max-seq-length >= 2");
        }
        LlamaConfig config = ModelFiles.config(model);
        try (HfTokenizer tok = ModelFiles.tokenizer(model, tokenizer)) {
            ModelFiles.checkFit(tok, config);
            TextEncoder encoder = ModelFiles.encoder(tok, config);
            List<Example> examples = ModelFiles.examples(data, encoder, maxSeqLength, false);
            try (NDManager manager = NDManager.newBaseManager(Devices.resolve(DeviceChoice.fromCliName(device)))) {
                LlamaForCausalLM m = ModelFiles.load(model, manager, DataType.FLOAT32);
                if (adapter != null) {
                    ModelFiles.applyAdapter(m, adapter);
                }
                Map<String, Double> metrics = Evaluator.evaluate(new CausalLmTask(m), manager, examples, batch,
                        encoder.effectivePadId());
                spec.commandLine().getOut().printf(Locale.ROOT, "examples %d%neval_loss %.6f%nperplexity %.4f%n",
                        examples.size(), metrics.get("loss"), metrics.get("perplexity"));
                spec.commandLine().getOut().flush();
            }
        }
        return ExitCodes.OK;
    }
}
