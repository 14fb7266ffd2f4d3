package dev.locus.stream;

import dev.locus.config.LocusConfig;
import dev.locus.editing.Essence;
import dev.locus.study.StudySettings;

/**
 * The study the service runs, from its configuration: {@code locus.model}, {@code locus.grid},
 * {@code locus.tracing} and {@code locus.editing} as {@link StudySettings}. Here rather than in
 * either of them, since the study knows nothing of Quarkus and the configuration nothing of the study.
 */
public final class StudySettingsMapping {
    private StudySettingsMapping() {}

    public static StudySettings from(LocusConfig c) {
        int[] layers = c.grid().layers().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).orElse(null);
        return new StudySettings(
                new StudySettings.Model(c.model().dir().orElse(null), c.model().name().orElse(null),
                        c.model().version().orElse(null), c.model().device()),
                c.grid().protocol(),
                new StudySettings.Edits(c.grid().methods().orElse(null), c.grid().problems().orElse(null), layers),
                new StudySettings.Tracing(boxed(c.tracing().samples()), c.tracing().seed(), c.tracing().windows(),
                        c.tracing().noiseSigma().orElse(Double.NaN), c.tracing().noiseSubjects().orElse(null),
                        c.tracing().minPClean().isPresent() ? c.tracing().minPClean().getAsDouble() : null,
                        boxed(c.tracing().knownContinuation())),
                new StudySettings.Editing(c.editing().config().orElse(null), c.editing().corpus().orElse(null), c.editing().cache(),
                        c.editing().batchRows(), new StudySettings.EssenceSet(c.editing().essence().orElse(null),
                        c.editing().essenceSamples().orElse(null), c.editing().essenceLength().orElse(null),
                        c.editing().essenceTopK().orElse(null))));
    }

    private static Integer boxed(java.util.OptionalInt value) {
        return value.isPresent() ? value.getAsInt() : null;
    }
}
