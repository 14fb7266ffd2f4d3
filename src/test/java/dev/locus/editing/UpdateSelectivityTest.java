package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class UpdateSelectivityTest {
    private static LanguageModel lm;
    private static KeyStatistics statistics;

    @BeforeAll
    static void setUp() {
        lm = Testbed.GPT2.load();
        statistics = TestbedEditing.statistics(lm);
    }

    @AfterAll
    static void tearDown() {
        lm.close();
    }

    @Test
    void withTheEmptyPrefixAloneThePromptReceivesTheWholeUpdateAndNeighboursLess() {
        Fact f = Testbed.GPT2.facts().get(3);
        // k* is then the prompt's own key, so uᵀk = 1 exactly at its last subject token, whatever the ridge
        for (double ridge : new double[] {0, 1}) {
            UpdateSelectivity.Report r = UpdateSelectivity.measure(lm, statistics, List.of(""), f, 1, ridge);
            assertEquals(1.0, r.prompt(), 1e-4, "ridge " + ridge);
            assertTrue(r.neighbourMax() < 0.5 && r.promptOtherMax() < 0.5, "ridge " + ridge + ": " + r);
        }
    }

    @Test
    void aRidgeSpreadsTheUpdate() {
        Fact f = Testbed.GPT2.facts().get(3);
        List<String> prefixes = ContextPrefixes.standard(lm, 0);
        UpdateSelectivity.Report none = UpdateSelectivity.measure(lm, statistics, prefixes, f, 0, 0);
        UpdateSelectivity.Report heavy = UpdateSelectivity.measure(lm, statistics, prefixes, f, 0, 1);
        assertTrue(heavy.prompt() > none.prompt() && heavy.neighbourMax() > none.neighbourMax(), none + " vs " + heavy);
    }
}
