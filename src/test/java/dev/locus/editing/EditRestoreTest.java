package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** 100 mixed edits, some failing midway, leave every weight bit-identical to the loaded model. */
class EditRestoreTest {

    @Test
    void everyEditIsUndoneExactly() {
        try (LanguageModel lm = Testbed.GPT2.load()) {
            Map<String, float[]> loaded = new HashMap<>();
            lm.model().weights().asMap().forEach((name, w) -> loaded.put(name, w.toFloatArray()));
            KeyStatistics statistics = TestbedEditing.statistics(lm);
            List<String> prefixes = ContextPrefixes.sample(lm, 0, 2, 5);
            ValueSettings quick = new ValueSettings(3, 0.5, 0.0625, 0.5, 40, 5e-2);
            List<Editor> editors = List.of(
                    new RomeEditor(lm, statistics, prefixes, new RomeSettings(quick, 1, RomeSettings.Anchor.PROMPT_KEY)),
                    new MemitEditor(lm, statistics, prefixes, new MemitSettings(3, quick, 15_000, 1)),
                    new FineTuneEditor(lm, FineTuneSettings.of(1, 3, 1e-2)),
                    new FineTuneEditor(lm, FineTuneSettings.of(5, 3, 1e-3)),
                    // fails midway: the tuned copies are in place when the loss turns NaN at the second step
                    new FineTuneEditor(lm, new FineTuneSettings(3, 3, Double.NaN, 1e-2, 1e-2, 5)),
                    // fails midway: MEMIT rejects a non-finite update
                    new MemitEditor(lm, statistics, prefixes, new MemitSettings(3, quick, Double.NaN, 0)));
            EditEvaluator evaluator = new EditEvaluator(lm, 0.2, 1);
            List<Fact> facts = Testbed.GPT2.facts();
            int failed = 0;
            for (int i = 0; i < 100; i++) {
                Fact f = facts.get(i % 7);
                EditingProblem problem = EditingProblem.values()[i % EditingProblem.values().length];
                EditResult r = evaluator.evaluate(evaluator.setup(f, problem), editors.get(i % editors.size()),
                        (i * 5) % lm.dimensions().layers(), 0);
                failed += r.status().equals("failed") ? 1 : 0;
            }
            assertTrue(failed >= 30, "the failing editors failed: " + failed);
            for (Map.Entry<String, float[]> e : loaded.entrySet()) {
                float[] now = lm.model().weights().get(e.getKey()).toFloatArray();
                for (int j = 0; j < now.length; j++) {
                    assertEquals(Float.floatToRawIntBits(e.getValue()[j]), Float.floatToRawIntBits(now[j]), e.getKey());
                }
            }
        }
    }
}
