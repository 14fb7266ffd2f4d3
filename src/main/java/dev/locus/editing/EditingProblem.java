package dev.locus.editing;

import java.util.Arrays;
import java.util.Locale;

/** The five editing problems of the study (ALGORITHMS.md §3). */
public enum EditingProblem {
    /** raise p(o_new | p) */
    ERROR_INJECTION(true, false),
    /** raise p(o_noise | p), o_noise = the greedy prediction with the subject corrupted by tracing noise */
    TRACING_REVERSAL(true, false),
    /** lower p(o_true | p) */
    FACT_ERASURE(false, false),
    /** raise p(o_true | p) */
    FACT_AMPLIFICATION(true, false),
    /** raise p(o_true | p) with the subject corrupted by tracing noise, while editing and while evaluating */
    FACT_FORCING(true, true);

    private final boolean raise;
    private final boolean noisedSubject;

    EditingProblem(boolean raise, boolean noisedSubject) {
        this.raise = raise;
        this.noisedSubject = noisedSubject;
    }

    /** Whether the edit raises (true) or lowers (erasure) the probability of its target. */
    public boolean raises() {
        return raise;
    }

    public boolean noisedSubject() {
        return noisedSubject;
    }

    /** (p_post − p_pre) / (1 − p_pre) for raising problems, max(0, (p_pre − p_post) / p_pre) for erasure. */
    public double rewriteScore(double pre, double post) {
        if (raise) {
            return pre >= 1 ? 0 : (post - pre) / (1 - pre);
        }
        return pre <= 0 ? 0 : Math.max(0, (pre - post) / pre);
    }

    /** 1 − |p_post − p_pre| / (0.5 + |p_pre − 0.5|): 1 when a neighbour's probability did not move. */
    public static double neighbourhoodScore(double pre, double post) {
        return 1 - Math.abs(post - pre) / (0.5 + Math.abs(pre - 0.5));
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The problem with this label (e.g. "error_injection"), ignoring case and surrounding blanks; the message lists the known ones. */
    public static EditingProblem parse(String label) {
        for (EditingProblem p : values()) {
            if (p.label().equals(label.trim().toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown editing problem '" + label + "'; known: " + labels());
    }

    public static java.util.List<String> labels() {
        return Arrays.stream(values()).map(EditingProblem::label).toList();
    }
}
