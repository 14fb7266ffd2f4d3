package dev.locus.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.facts.Fact;
import dev.locus.facts.FactsJsonl;
import dev.locus.model.LanguageModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A few epochs of the real trainer on a tiny model of each architecture: finite, falling loss and a loadable Hugging Face directory. */
class TestbedTrainerTest {

    @ParameterizedTest
    @EnumSource(TestbedTrainer.Architecture.class)
    void trainsAndWritesALoadableCheckpoint(TestbedTrainer.Architecture architecture, @TempDir Path out) throws Exception {
        TestbedTrainer.Settings d = TestbedTrainer.Settings.defaults(architecture);
        TestbedTrainer.Settings tiny = new TestbedTrainer.Settings(architecture, 7, 2, 32, 2, 1, 96, 64, 64, 3e-3, d.beta1(),
                d.beta2(), 20, 3, 0.99, d.fillerFraction(), d.pairedFraction());
        List<String> progress = new ArrayList<>();
        FactWorld world = FactWorld.generate(7, 700);
        TestbedTrainer.Report report = new TestbedTrainer(tiny, progress::add).train(world, out);

        assertEquals(3, progress.size(), "one progress line per epoch");
        assertTrue(progress.get(0).contains("loss") && progress.get(0).contains("ETA"), progress.get(0));
        assertTrue(Double.isFinite(report.finalLoss()));
        double first = Double.parseDouble(progress.get(0).replaceAll(".*loss (\\S+).*", "$1"));
        assertTrue(report.finalLoss() < first, "loss falls: " + first + " -> " + report.finalLoss());
        for (String file : List.of("config.json", "model.safetensors", "tokenizer.json", "facts.jsonl", "corpus.txt", "training.json")) {
            assertTrue(Files.exists(out.resolve(file)), file);
        }
        try (LanguageModel lm = LanguageModel.load(out)) {
            Fact f = world.facts().get(0);
            assertEquals(2, lm.dimensions().layers());
            assertEquals(architecture.name().toLowerCase(java.util.Locale.ROOT), lm.dimensions().family());
            assertEquals(f.prompt(), lm.decode(lm.tokenize(f.prompt()).ids()));
            assertTrue(lm.targetProbs(List.of(f.prompt()), List.of(f.targetTrue()))[0] > 0);
        }
        assertEquals(world.facts(), FactsJsonl.read(out.resolve("facts.jsonl")));
    }
}
