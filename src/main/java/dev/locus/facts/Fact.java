package dev.locus.facts;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One fact in Locus's own form: the subject, a prompt that contains it, the true object and a
 * counterfactual object, plus the prompts the editing metrics need. Objects are written without
 * the leading space; the model runtime adds it when it scores a target (" Paris"). A fact without a
 * counterfactual (no target_new, as ROME's known facts) is {@linkplain #traceOnly() trace-only}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Fact(
        String id,
        String subject,
        String prompt,
        @JsonProperty("target_true") String targetTrue,
        @JsonProperty("target_new") String targetNew,
        @JsonProperty("paraphrase_prompts") List<String> paraphrasePrompts,
        @JsonProperty("neighborhood_prompts") List<Neighbor> neighborhoodPrompts,
        @JsonProperty("relation_id") String relationId) {

    /** A prompt about another subject with the same relation, and the object it should keep. */
    public record Neighbor(String prompt, String target) {}

    /** Traced but never edited: there is no counterfactual object to install. */
    public boolean traceOnly() {
        return targetNew == null;
    }

    public Fact {
        paraphrasePrompts = paraphrasePrompts == null ? List.of() : List.copyOf(paraphrasePrompts);
        neighborhoodPrompts = neighborhoodPrompts == null ? List.of() : List.copyOf(neighborhoodPrompts);
    }
}
