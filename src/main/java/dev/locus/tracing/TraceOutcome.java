package dev.locus.tracing;

/** The result of tracing one fact: a full trace, or the reason it was not analysed. */
public sealed interface TraceOutcome permits CausalTrace, TraceOutcome.NotAnalysed {

    double pClean();

    /** The fact was filtered out (e.g. the model does not know it: p_clean below the threshold). */
    record NotAnalysed(double pClean, String reason) implements TraceOutcome {}
}
