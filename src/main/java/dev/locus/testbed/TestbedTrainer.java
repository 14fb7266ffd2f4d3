package dev.locus.testbed;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.facts.Fact;
import dev.locus.facts.FactsJsonl;
import dev.locus.model.Adam;
import dev.locus.model.Gpt2;
import dev.locus.model.Hooks;
import dev.locus.model.LanguageModel;
import dev.locus.model.Llama;
import dev.locus.model.LlamaConfig;
import dev.locus.model.ModelConfig;
import dev.locus.model.TextTokenizer;
import dev.locus.model.TokenBatch;
import dev.locus.model.SavableTransformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Trains a testbed model: a GPT-2 or a Llama that memorises the fact world in all its templates, plus
 * neutral filler text, with Adam and plain next-token loss. Some training rows join two
 * sentences with " . " so the model also answers after a context prefix (ROME's k* averages
 * over such prefixes). Accuracy sits at the majority-object level for several epochs before
 * memorisation starts, so training runs until the accuracy target, not for a fixed short time.
 */
public final class TestbedTrainer {

    /** The two shipped testbeds' architectures. */
    public enum Architecture { GPT2, LLAMA }

    /**
     * Everything that determines the trained model.
     *
     * @param kvHeads  key/value heads (grouped-query attention; Llama only, GPT-2 has one per head)
     * @param mlpWidth the MLP's inner width (GPT-2: 4·width; Llama's SwiGLU: ≈ 8/3·width, the same parameter count)
     */
    public record Settings(Architecture architecture, long seed, int layers, int width, int heads, int kvHeads, int mlpWidth,
                           int positions, int batchSize, double learningRate, double beta1, double beta2, int warmupSteps,
                           int maxEpochs, double targetAccuracy, double fillerFraction, double pairedFraction) {
        public static Settings defaults(Architecture architecture) {
            boolean llama = architecture == Architecture.LLAMA;
            return new Settings(architecture, 1234, 12, 128, 4, llama ? 2 : 4, llama ? 344 : 512, 64, 64, 1e-3, 0.9, 0.98,
                    100, 80, 0.99, 0.2, 0.3);
        }
    }

    /** Accuracy of the greedy first target token, and mean p(true) over main prompts. */
    public record Quality(double mainAccuracy, double paraphraseAccuracy, double meanMainProbability) {}

    public record Report(Settings settings, int epochs, double seconds, double finalLoss, Quality quality) {}

    private final Settings settings;
    private final Consumer<String> progress;

    public TestbedTrainer(Settings settings, Consumer<String> progress) {
        this.settings = settings;
        this.progress = progress;
    }

    /** Trains on {@code world} and writes a Hugging Face directory (plus facts.jsonl and training.json) to {@code out}. */
    public Report train(FactWorld world, Path out) throws IOException {
        Files.createDirectories(out);
        List<String> sentences = corpus(world, settings.fillerFraction());
        Files.write(out.resolve("corpus.txt"), sentences);
        List<String> vocabulary = WordLevelTokenizer.vocabulary(sentences);
        if (!vocabulary.contains(".")) {
            vocabulary.add("."); // the separator of paired rows and of ROME's context prefixes
        }
        WordLevelTokenizer.write(out.resolve("tokenizer.json"), vocabulary);
        FactsJsonl.write(out.resolve("facts.jsonl"), world.facts());

        long start = System.nanoTime();
        SavableTransformer model = initialize(vocabulary.size());
        try (LanguageModel lm = new LanguageModel(model, null, "testbed");
             TextTokenizer tokenizer = TextTokenizer.load(out.resolve("tokenizer.json"))) {
            List<long[]> rows = new ArrayList<>();
            for (String s : sentences) {
                rows.add(tokenizer.encode(s).ids());
            }
            long period = tokenizer.encode(".").ids()[0];
            Random random = new Random(settings.seed());
            Adam adam = new Adam(lm.model().weights().asMap(), lm.manager(), settings.beta1(), settings.beta2());
            Evaluation evaluation = new Evaluation(world.facts(), tokenizer);
            int stepsPerEpoch = (rows.size() + settings.batchSize() - 1) / settings.batchSize();
            int epoch = 0;
            double loss = Double.NaN;
            Quality quality = null;
            while (epoch < settings.maxEpochs()) {
                epoch++;
                List<long[]> epochRows = withPairs(rows, random, period);
                Collections.shuffle(epochRows, random);
                double lossSum = 0;
                for (int s = 0; s < stepsPerEpoch; s++) {
                    List<long[]> batch = epochRows.subList(s * settings.batchSize(),
                            Math.min(epochRows.size(), (s + 1) * settings.batchSize()));
                    lossSum += step(lm, batch, adam);
                }
                loss = lossSum / stepsPerEpoch;
                if (!Double.isFinite(loss)) {
                    throw new IllegalStateException("training diverged at epoch " + epoch + " (loss " + loss + ")");
                }
                quality = evaluation.measure(lm);
                double elapsed = (System.nanoTime() - start) / 1e9;
                boolean done = quality.mainAccuracy() >= settings.targetAccuracy()
                        && quality.paraphraseAccuracy() >= settings.targetAccuracy();
                progress.accept(String.format("epoch %3d  loss %.4f  main acc %.3f  paraphrase acc %.3f  mean p(true) %.3f  %5.0fs  ETA %s",
                        epoch, loss, quality.mainAccuracy(), quality.paraphraseAccuracy(), quality.meanMainProbability(),
                        elapsed, done ? "done" : "≤ " + Math.round(elapsed / epoch * (settings.maxEpochs() - epoch)) + "s"));
                if (done) {
                    break;
                }
            }
            model.save(out);
            Report report = new Report(settings, epoch, (System.nanoTime() - start) / 1e9, loss, quality);
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.resolve("training.json").toFile(), report);
            return report;
        }
    }

    private SavableTransformer initialize(int vocabulary) {
        Settings s = settings;
        return switch (s.architecture()) {
            case GPT2 -> Gpt2.initialize(new ModelConfig(s.layers(), s.width(), s.heads(), s.positions(), vocabulary, s.mlpWidth(),
                    1e-5f, "gelu_new"), s.seed(), Device.cpu());
            case LLAMA -> Llama.initialize(LlamaConfig.plain(s.layers(), s.width(), s.heads(), s.kvHeads(), s.mlpWidth(), vocabulary,
                    s.positions(), 1e-5f, 10000), s.seed(), Device.cpu());
        };
    }

    /**
     * The training text: every fact in every template (prompt + " " + true object), then filler
     * sentences making up {@code fillerFraction} of the whole. Written as corpus.txt beside the
     * model, where editing reads it for its key statistics.
     */
    public static List<String> corpus(FactWorld world, double fillerFraction) {
        List<String> sentences = new ArrayList<>();
        for (Fact f : world.facts()) {
            sentences.add(f.prompt() + " " + f.targetTrue());
            f.paraphrasePrompts().forEach(p -> sentences.add(p + " " + f.targetTrue()));
        }
        int fillerCount = (int) Math.round(sentences.size() * fillerFraction / (1 - fillerFraction));
        List<String> filler = world.fillerSentences();
        for (int i = 0; i < fillerCount; i++) {
            sentences.add(filler.get(i % filler.size()));
        }
        return sentences;
    }

    /** Joins a fraction of rows with a random other row in front, separated by " . ". */
    private List<long[]> withPairs(List<long[]> rows, Random random, long period) {
        List<long[]> out = new ArrayList<>(rows.size());
        for (long[] row : rows) {
            if (random.nextDouble() < settings.pairedFraction()) {
                long[] first = rows.get(random.nextInt(rows.size()));
                long[] joined = new long[first.length + 1 + row.length];
                System.arraycopy(first, 0, joined, 0, first.length);
                joined[first.length] = period;
                System.arraycopy(row, 0, joined, first.length + 1, row.length);
                out.add(joined.length <= settings.positions() ? joined : row);
            } else {
                out.add(row);
            }
        }
        return out;
    }

    /** One Adam step on the mean next-token loss of {@code batch}; returns the loss. */
    private double step(LanguageModel lm, List<long[]> batch, Adam adam) {
        try (NDManager m = lm.manager().newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            List<long[]> inputs = new ArrayList<>();
            for (long[] r : batch) {
                inputs.add(java.util.Arrays.copyOf(r, r.length - 1));
            }
            TokenBatch tb = TokenBatch.of(m, inputs);
            int length = (int) tb.ids().getShape().get(1);
            long[] next = new long[batch.size() * length];
            float[] mask = new float[batch.size() * length];
            int count = 0;
            for (int b = 0; b < batch.size(); b++) {
                long[] r = batch.get(b);
                for (int t = 0; t < r.length - 1; t++) {
                    next[b * length + t] = r[t + 1];
                    mask[b * length + t] = 1;
                    count++;
                }
            }
            NDArray nextIds = m.create(next, new Shape(batch.size(), length, 1));
            NDArray weight = m.create(mask, new Shape(batch.size(), length)).mul(m.create(-1f / count));
            float value;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logp = lm.model().forward(tb.ids(), Hooks.none()).logSoftmax(-1);
                NDArray loss = logp.gather(nextIds, 2).reshape(batch.size(), length).mul(weight).sum();
                gc.backward(loss);
                value = loss.getFloat();
            }
            adam.step(settings.learningRate() * Math.min(1.0, (adam.steps() + 1.0) / settings.warmupSteps()));
            return value;
        }
    }

    /** Greedy first-token accuracy on main prompts and paraphrases; mean p(true) on main prompts. */
    private static final class Evaluation {
        private final List<long[]> mainPrompts = new ArrayList<>();
        private final List<long[]> mainTargets = new ArrayList<>();
        private final List<long[]> paraphrasePrompts = new ArrayList<>();
        private final List<Long> paraphraseFirst = new ArrayList<>();

        Evaluation(List<Fact> facts, TextTokenizer tokenizer) {
            for (Fact f : facts) {
                long[] target = tokenizer.encode(" " + f.targetTrue()).ids();
                mainPrompts.add(tokenizer.encode(f.prompt()).ids());
                mainTargets.add(target);
                for (String p : f.paraphrasePrompts()) {
                    paraphrasePrompts.add(tokenizer.encode(p).ids());
                    paraphraseFirst.add(target[0]);
                }
            }
        }

        Quality measure(LanguageModel lm) {
            List<Long> mainFirst = mainTargets.stream().map(t -> t[0]).toList();
            double probability = 0;
            for (int i = 0; i < mainPrompts.size(); i += 256) {
                int end = Math.min(mainPrompts.size(), i + 256);
                try (NDManager m = lm.manager().newSubManager()) {
                    for (float lp : lm.targetLogProbs(m, mainPrompts.subList(i, end), mainTargets.subList(i, end),
                            Hooks.none(), false).toFloatArray()) {
                        probability += Math.exp(lp);
                    }
                }
            }
            return new Quality(accuracy(lm, mainPrompts, mainFirst), accuracy(lm, paraphrasePrompts, paraphraseFirst),
                    probability / mainPrompts.size());
        }

        private static double accuracy(LanguageModel lm, List<long[]> prompts, List<Long> expected) {
            int correct = 0;
            for (int i = 0; i < prompts.size(); i += 256) {
                long[] got = lm.nextTokens(prompts.subList(i, Math.min(prompts.size(), i + 256)));
                for (int j = 0; j < got.length; j++) {
                    correct += got[j] == expected.get(i + j) ? 1 : 0;
                }
            }
            return (double) correct / prompts.size();
        }
    }
}
