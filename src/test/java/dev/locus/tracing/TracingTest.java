package dev.locus.tracing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.facts.Fact;
import dev.locus.facts.InvalidFactException;
import dev.locus.model.LanguageModel;
import dev.locus.testbed.Testbed;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Tracing on the testbed model: fast engine = reference, filter, reproducibility, bad input. */
class TracingTest {
    private static LanguageModel lm;
    private static List<Fact> facts;
    private static double sigma;

    @BeforeAll
    static void load() {
        lm = Testbed.GPT2.load();
        facts = Testbed.GPT2.facts();
        sigma = Testbed.GPT2.noiseSigma(lm);
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    @Test
    void fastEngineEqualsTheReferenceOnEveryCellOfEveryKind() {
        // Small batches force the fast engine to split tokens over several passes too.
        TracingSettings settings = TracingSettings.defaults();
        TracingSettings chunked = settings.toBuilder().seed(7).maxBatchRows(25).build();
        for (Fact f : facts.subList(0, 3)) {
            for (TracingSettings s : List.of(settings.toBuilder().seed(7).build(), chunked)) {
                CausalTrace reference = (CausalTrace) new NaiveTracer(lm, s, sigma).trace(f.prompt(), f.subject(), f.targetTrue());
                CausalTrace fast = (CausalTrace) new FastTracer(lm, s, sigma).trace(f.prompt(), f.subject(), f.targetTrue());
                assertEquals(reference.pClean(), fast.pClean(), 1e-5);
                assertEquals(reference.pCorrupt(), fast.pCorrupt(), 1e-5);
                for (TraceKind kind : TraceKind.values()) {
                    double[][] a = reference.restored().get(kind);
                    double[][] b = fast.restored().get(kind);
                    for (int t = 0; t < a.length; t++) {
                        for (int l = 0; l < a[t].length; l++) {
                            assertEquals(a[t][l], b[t][l], 1e-5, f.id() + " " + kind + " token " + t + " layer " + l);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aTraceIsReproducibleFromItsSeedAndNoiseLowersTheProbability() {
        Fact f = facts.stream().filter(x -> lm.targetIds(x.targetTrue()).length == 1).findFirst().orElseThrow();
        Tracer tracer = new FastTracer(lm, TracingSettings.defaults(), sigma);
        CausalTrace a = (CausalTrace) tracer.trace(f.prompt(), f.subject(), f.targetTrue());
        CausalTrace b = (CausalTrace) tracer.trace(f.prompt(), f.subject(), f.targetTrue());
        assertEquals(a.pCorrupt(), b.pCorrupt());
        assertArrayEquals(a.restored().get(TraceKind.MLP)[a.subjectEnd() - 1], b.restored().get(TraceKind.MLP)[a.subjectEnd() - 1]);
        assertTrue(a.pCorrupt() < a.pClean(), "noise should lower p: " + a.pCorrupt() + " vs " + a.pClean());
        // The localization value as the spec defines it: per layer, the largest fractional MLP effect over the traced tokens.
        double[] localization = a.localization();
        assertEquals(lm.dimensions().layers(), localization.length);
        double[][] mlp = a.restored().get(TraceKind.MLP);
        for (int l = 0; l < localization.length; l++) {
            double expected = 0;
            for (int t = a.tracedFrom(); t < mlp.length; t++) {
                expected = Math.max(expected, (mlp[t][l] - a.pCorrupt()) / (a.pClean() - a.pCorrupt()));
            }
            assertEquals(expected, localization[l], 1e-12, "layer " + l);
        }
        assertTrue(Arrays.stream(localization).max().orElseThrow() > 0.1, "restoring an MLP window should recover part of the fact");
        // With a one-token target, restoring the residual stream of the last token at the last layer restores p_clean.
        double[][] hidden = a.restored().get(TraceKind.HIDDEN);
        assertEquals(a.pClean(), hidden[hidden.length - 1][lm.dimensions().layers() - 1], 1e-5);
    }

    @Test
    void factsTheModelDoesNotKnowAreNotAnalysed() {
        Fact f = facts.get(0);
        TraceOutcome outcome = new FastTracer(lm, TracingSettings.defaults(), sigma).trace(f.prompt(), f.subject(), f.targetNew());
        TraceOutcome.NotAnalysed skipped = assertInstanceOf(TraceOutcome.NotAnalysed.class, outcome);
        assertTrue(skipped.reason().contains("p_clean"), skipped.reason());
    }

    @Test
    void thePublishedFilterKeepsFactsWhoseTrueObjectTheModelSaysWithin36Tokens() {
        TracingSettings published = TracingSettings.defaults().toBuilder().minCleanProbability(0).knownContinuation(36).build();
        FastTracer tracer = new FastTracer(lm, published, sigma);
        int kept = 0;
        for (Fact f : facts.subList(0, 10)) {
            String continuation = lm.decode(lm.generateGreedy(lm.tokenize(f.prompt()).ids(), 36));
            TraceOutcome outcome = tracer.trace(f.prompt(), f.subject(), f.targetTrue());
            assertEquals(continuation.contains(f.targetTrue()), outcome instanceof CausalTrace, f.id() + ": " + continuation);
            kept += outcome instanceof CausalTrace ? 1 : 0;
        }
        assertTrue(kept >= 5, "the testbed knows most of its facts: " + kept + " of 10 kept");
        Fact f = facts.get(0);
        TraceOutcome.NotAnalysed skipped = assertInstanceOf(TraceOutcome.NotAnalysed.class, tracer.trace(f.prompt(), f.subject(), f.targetNew()));
        assertTrue(skipped.reason().contains("'" + f.targetNew() + "' is not in the model's greedy 36-token continuation"), skipped.reason());
    }

    @Test
    void badInputNamesTheField() {
        Tracer tracer = new FastTracer(lm, TracingSettings.defaults(), sigma);
        Fact f = facts.get(0);
        assertEquals("subject", assertThrows(InvalidFactException.class,
                () -> tracer.trace(f.prompt(), "Nobody Anywhere", f.targetTrue())).field());
        assertEquals("subject", assertThrows(InvalidFactException.class,
                () -> tracer.trace(f.prompt(), " ", f.targetTrue())).field());
        assertEquals("target", assertThrows(InvalidFactException.class,
                () -> tracer.trace(f.prompt(), f.subject(), "")).field());
        String tooLong = (f.prompt() + " ").repeat(lm.dimensions().contextLength());
        assertEquals("prompt", assertThrows(InvalidFactException.class,
                () -> tracer.trace(tooLong, f.subject(), f.targetTrue())).field());
    }
}
