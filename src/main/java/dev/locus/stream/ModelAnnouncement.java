package dev.locus.stream;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.study.StudySettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A model version announced for evaluation: a record of the compacted {@code locus.models} topic,
 * keyed {@code name|version} (schemas/model-announcement.schema.json). What it says — where the
 * checkpoint is, the baseline, the editing preset, the grid — is its {@link #content}; when and
 * through which door it arrived are not, so announcing the same version again is harmless and
 * announcing it with other content is a conflict.
 *
 * @param checkpoint    a directory the workers can read, or a shipped testbed's name
 * @param baseline      the version to compare with; null for the first version of a name (the registry
 *                      fills in the previous one when the announcer leaves it out)
 * @param editingConfig editing preset (testbed, gpt-j, gpt2-xl, paper-gpt-j, paper-gpt2-xl) or a JSON file the workers can read
 * @param grid          methods, problems and layers to evaluate; null for the workers' own grid
 * @param fingerprint   the weights' fingerprint the checkpoint must have (16 hex digits, as results carry it); null = whatever
 *                      the first worker to load it finds, which every later result of the version must then match
 * @param source        "api" or "mlflow"
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelAnnouncement(String name, String version, String checkpoint, String baseline,
                                @JsonProperty("editing_config") String editingConfig, GridChoice grid, String fingerprint, String source,
                                @JsonProperty("announced_at") String announcedAt) {

    /** What model names may look like: they are metric labels, consumer-group names and parts of Kafka keys. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

    private static final Pattern FINGERPRINT = Pattern.compile("[0-9a-f]{16}");

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record GridChoice(List<String> methods, List<String> problems, List<Integer> layers) {}

    /** The Kafka key: one record per version, the latest kept by compaction. */
    public String key() {
        return name + "|" + version;
    }

    /** What the announcement says, without when and how it arrived. */
    public ModelAnnouncement content() {
        return new ModelAnnouncement(name, version, checkpoint, baseline, editingConfig, grid, fingerprint, null, null);
    }

    public ModelAnnouncement withBaseline(String newBaseline) {
        return new ModelAnnouncement(name, version, checkpoint, newBaseline, editingConfig, grid, fingerprint, source, announcedAt);
    }

    public ModelAnnouncement stamped(String newSource, String at) {
        return new ModelAnnouncement(name, version, checkpoint, baseline, editingConfig, grid, fingerprint, newSource, at);
    }

    /** Every reason it cannot be accepted (empty if it can), each saying what to change. */
    public List<String> problems() {
        List<String> out = new ArrayList<>();
        if (name == null || !NAME.matcher(name).matches()) {
            out.add("name: 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit (got " + quoted(name) + ")");
        }
        if (version == null || !StudySettings.Model.VERSION.matcher(version).matches()) {
            out.add("version: 1-100 letters, digits, '.', '_', '+' or '-', starting with a letter or digit (got " + quoted(version) + ")");
        }
        if (checkpoint == null || checkpoint.isBlank()) {
            out.add("checkpoint: the directory the workers load the version from (or a shipped testbed's name) is missing");
        }
        if (baseline != null && (!StudySettings.Model.VERSION.matcher(baseline).matches() || baseline.equals(version))) {
            out.add("baseline: another version of the same model to compare with (got " + quoted(baseline) + ")");
        }
        if (editingConfig != null && editingConfig.isBlank()) {
            out.add("editing_config: a preset (testbed, gpt-j, gpt2-xl, paper-gpt-j, paper-gpt2-xl) or a JSON file; leave it out for the workers' own");
        }
        if (fingerprint != null && !FINGERPRINT.matcher(fingerprint).matches()) {
            out.add("fingerprint: 16 lowercase hex digits, as results carry it in model_fingerprint (got " + quoted(fingerprint) + ")");
        }
        if (grid != null) {
            gridProblems(out);
        }
        return out;
    }

    private void gridProblems(List<String> out) {
        for (String m : Objects.requireNonNullElse(grid.methods(), List.<String>of())) {
            try {
                EditingMethod.parse(m);
            } catch (IllegalArgumentException e) {
                out.add("grid.methods: " + e.getMessage());
            }
        }
        for (String p : Objects.requireNonNullElse(grid.problems(), List.<String>of())) {
            try {
                EditingProblem.parse(p);
            } catch (IllegalArgumentException e) {
                out.add("grid.problems: " + e.getMessage());
            }
        }
        for (Integer layer : Objects.requireNonNullElse(grid.layers(), List.<Integer>of())) {
            if (layer == null || layer < 0) {
                out.add("grid.layers: layers are 0-indexed and not negative (got " + layer + ")");
            }
        }
    }

    private static String quoted(String s) {
        return s == null ? "nothing" : "'" + s + "'";
    }
}
