package dev.locus.testbed;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Each shipped testbed model knows its facts: the bar every other test and the demo stand on. */
class TestbedQualityTest {

    /** Fraction of prompts whose greedy continuation is exactly the target's tokens. */
    private static double greedyAccuracy(LanguageModel lm, List<String> prompts, List<String> targets) {
        List<long[]> ids = new ArrayList<>();
        prompts.forEach(p -> ids.add(lm.tokenize(p).ids()));
        int correct = 0;
        for (int i = 0; i < ids.size(); i += 256) {
            List<long[]> batch = ids.subList(i, Math.min(ids.size(), i + 256));
            long[] next = lm.nextTokens(batch);
            for (int j = 0; j < batch.size(); j++) {
                long[] target = lm.targetIds(targets.get(i + j));
                boolean ok = next[j] == target[0]
                        && (target.length == 1 || Arrays.equals(target, lm.generateGreedy(batch.get(j), target.length)));
                correct += ok ? 1 : 0;
            }
        }
        return (double) correct / ids.size();
    }

    @ParameterizedTest
    @EnumSource(Testbed.class)
    void testbedModelKnowsItsFacts(Testbed testbed) throws Exception {
        List<Fact> facts = testbed.facts();
        assertTrue(facts.size() >= 1000, "at least 1000 facts, got " + facts.size());
        assertTrue(Files.size(testbed.directory().resolve("model.safetensors")) <= 25_000_000, "a testbed ships in ≤ 25 MB");
        try (LanguageModel lm = testbed.load()) {
            assertTrue(lm.dimensions().layers() >= 8);
            List<String> main = facts.stream().map(Fact::prompt).toList();
            List<String> mainTargets = facts.stream().map(Fact::targetTrue).toList();
            List<String> paraphrases = new ArrayList<>();
            List<String> paraphraseTargets = new ArrayList<>();
            for (Fact f : facts) {
                for (String p : f.paraphrasePrompts()) {
                    paraphrases.add(p);
                    paraphraseTargets.add(f.targetTrue());
                }
            }
            double mainAccuracy = greedyAccuracy(lm, main, mainTargets);
            double paraphraseAccuracy = greedyAccuracy(lm, paraphrases, paraphraseTargets);
            double meanP = 0;
            for (int i = 0; i < main.size(); i += 256) {
                int end = Math.min(main.size(), i + 256);
                for (double p : lm.targetProbs(main.subList(i, end), mainTargets.subList(i, end))) {
                    meanP += p / main.size();
                }
            }
            System.out.printf(testbed.label() + ": main accuracy %.4f, paraphrase accuracy %.4f, mean p(true) %.4f%n",
                    mainAccuracy, paraphraseAccuracy, meanP);
            assertTrue(mainAccuracy >= 0.95, "main-prompt accuracy " + mainAccuracy);
            assertTrue(paraphraseAccuracy >= 0.90, "paraphrase accuracy " + paraphraseAccuracy);
            assertTrue(meanP >= 0.5, "mean p(true) " + meanP);
        }
    }
}
