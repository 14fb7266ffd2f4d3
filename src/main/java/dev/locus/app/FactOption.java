package dev.locus.app;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.facts.Fact;

/** The {@code --fact} option of the commands that take one fact: its JSON, snake_case as in facts.jsonl. */
final class FactOption {
    private FactOption() {}

    /** The fact {@code json} describes; the message of the IllegalArgumentException says what is wrong with it. */
    static Fact parse(String json) {
        Fact fact;
        try {
            fact = new ObjectMapper().readValue(json, Fact.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("--fact is not a fact: " + e.getOriginalMessage());
        }
        // Without these a fact can be neither traced nor edited.
        if (fact == null || fact.subject() == null || fact.prompt() == null || fact.targetTrue() == null) {
            throw new IllegalArgumentException("--fact needs a subject, a prompt and a target_true");
        }
        return fact;
    }
}
