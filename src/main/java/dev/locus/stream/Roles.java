package dev.locus.stream;

import java.util.Locale;

/** What an instance does, from {@code locus.role}: worker, aggregator or both (none for command-line runs). */
public final class Roles {
    private Roles() {}

    public static boolean worker(String role) {
        return is(role, "worker");
    }

    public static boolean aggregator(String role) {
        return is(role, "aggregator");
    }

    private static boolean is(String role, String wanted) {
        String r = role.toLowerCase(Locale.ROOT);
        if (!r.equals("worker") && !r.equals("aggregator") && !r.equals("both") && !r.equals("none")) {
            throw new IllegalArgumentException("locus.role must be worker, aggregator or both, not '" + role + "'");
        }
        return r.equals(wanted) || r.equals("both");
    }
}
