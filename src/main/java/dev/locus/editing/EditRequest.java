package dev.locus.editing;

/** What an edit should make the model say: {@code target} after {@code prompt}, which contains {@code subject}. */
public record EditRequest(String prompt, String subject, String target) {}
