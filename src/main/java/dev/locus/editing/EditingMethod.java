package dev.locus.editing;

import java.util.List;
import java.util.Locale;

/** The four editing conditions of the study (ALGORITHMS.md §2), named in results as "rome", "memit", "ft-1", "ft-5". */
public enum EditingMethod {
    ROME("rome"),
    /** MEMIT over a window of 5 layers around the edited one */
    MEMIT("memit"),
    /** constrained fine-tuning of the edited layer's MLP */
    FT_1("ft-1"),
    /** constrained fine-tuning of the MLPs of 5 layers around the edited one */
    FT_5("ft-5");

    private final String label;

    EditingMethod(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** ROME and MEMIT need the key covariance of the model (KeyStatistics); fine-tuning does not. */
    public boolean needsKeyStatistics() {
        return this == ROME || this == MEMIT;
    }

    public static List<EditingMethod> all() {
        return List.of(values());
    }

    /** The method with this label, ignoring case and surrounding blanks; the message lists the known ones. */
    public static EditingMethod parse(String label) {
        String wanted = label.trim().toLowerCase(Locale.ROOT);
        for (EditingMethod m : values()) {
            if (m.label.equals(wanted)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown editing method '" + label + "'; known: " + labels());
    }

    public static List<String> labels() {
        return all().stream().map(EditingMethod::label).toList();
    }
}
