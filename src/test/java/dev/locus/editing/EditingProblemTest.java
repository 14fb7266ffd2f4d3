package dev.locus.editing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class EditingProblemTest {

    @Test
    void scoresFollowTheSpec() {
        assertEquals(0.5, EditingProblem.ERROR_INJECTION.rewriteScore(0.2, 0.6), 1e-12);
        assertEquals(-0.25, EditingProblem.FACT_AMPLIFICATION.rewriteScore(0.2, 0.0), 1e-12);
        assertEquals(0.75, EditingProblem.FACT_ERASURE.rewriteScore(0.8, 0.2), 1e-12);
        assertEquals(0, EditingProblem.FACT_ERASURE.rewriteScore(0.2, 0.8), 1e-12);
        assertEquals(1, EditingProblem.neighbourhoodScore(0.3, 0.3), 1e-12);
        assertEquals(1 - 0.2 / 0.7, EditingProblem.neighbourhoodScore(0.3, 0.5), 1e-12);
        assertEquals(1 - 0.5 / 0.9, EditingProblem.neighbourhoodScore(0.9, 0.4), 1e-12);
    }
}
