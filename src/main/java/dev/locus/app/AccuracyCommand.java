package dev.locus.app;

import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.bench.ModelOption;
import dev.locus.testbed.ModelSource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Loads a model (the GPT-2 testbed by default), asks it every fact and prints its accuracy. */
@Command(name = "accuracy", mixinStandardHelpOptions = true,
        description = "Load a model and answer its facts: greedy accuracy and mean p(true).")
public class AccuracyCommand implements Runnable {
    @Mixin
    ModelOption model;

    @Option(names = "--facts", description = "facts as JSON lines or a CounterFact JSON array (default: the model's facts.jsonl)")
    Path facts;

    @Option(names = "--examples", defaultValue = "5", description = "how many answers to print")
    int examples;

    @Override
    public void run() {
        long start = System.nanoTime();
        ModelSource source = model.source();
        try (LanguageModel lm = source.load()) {
            List<Fact> all = source.facts(facts);
            System.out.printf("model %s (%s): %d layers, width %d, vocabulary %d; %d facts%n", source.name(), lm.dimensions().family(),
                    lm.dimensions().layers(), lm.dimensions().width(), lm.dimensions().vocabSize(), all.size());
            int correct = 0;
            double probability = 0;
            for (int i = 0; i < all.size(); i += 128) {
                List<Fact> batch = all.subList(i, Math.min(all.size(), i + 128));
                List<String> prompts = new ArrayList<>();
                List<String> targets = new ArrayList<>();
                List<long[]> promptIds = new ArrayList<>();
                for (Fact f : batch) {
                    prompts.add(f.prompt());
                    targets.add(f.targetTrue());
                    promptIds.add(lm.tokenize(f.prompt()).ids());
                }
                double[] p = lm.targetProbs(prompts, targets);
                long[] next = lm.nextTokens(promptIds);
                for (int j = 0; j < batch.size(); j++) {
                    Fact f = batch.get(j);
                    boolean ok = next[j] == lm.targetIds(f.prompt(), f.targetTrue())[0];
                    correct += ok ? 1 : 0;
                    probability += p[j];
                    if (i + j < examples) {
                        System.out.printf("  %s ->%s   (true: %s, p=%.3f)%n", f.prompt(),
                                " " + lm.decode(new long[] {next[j]}), f.targetTrue(), p[j]);
                    }
                }
                System.out.printf("  %d/%d facts asked%n", i + batch.size(), all.size());
            }
            System.out.printf("greedy accuracy %.3f, mean p(true) %.3f, %.1fs%n", (double) correct / all.size(),
                    probability / all.size(), (System.nanoTime() - start) / 1e9);
        }
    }
}
