package dev.locus.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.locus.study.Grid;
import dev.locus.study.StudySettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The child service's study options: what failed silently once (an unset setting passed as "null", the child exited at startup). */
class BenchServiceCommandTest {
    private static final Grid GRID = new Grid(List.of("rome"), List.of("error_injection"), new int[] {0, 5}, 3, 1, Map.of("hidden", 10),
            0.2, 0.02, "testbed", "f00d");

    private static List<String> options(StudySettings.EssenceSet essence) {
        StudySettings s = new StudySettings(StudySettings.Model.testbed(), new StudySettings.Edits(List.of("rome"), List.of("error_injection"),
                new int[] {0, 5}), new StudySettings.Tracing(3, 1, Map.of(), Double.NaN, null, 0.02),
                new StudySettings.Editing("testbed", null, Path.of("cache"), 64, essence));
        List<String> cmd = new ArrayList<>();
        BenchServiceCommand.studyOptions(cmd, s, GRID);
        return cmd;
    }

    @Test
    void unsetSettingsAreLeftOutNotPassedAsNull() {
        List<String> cmd = options(StudySettings.EssenceSet.NONE);
        for (String option : cmd) {
            assertTrue(option.startsWith("-D") && option.contains("="), option);
            String value = option.substring(option.indexOf('=') + 1);
            assertFalse(value.isEmpty() || value.equals("null") || value.equals("NaN"), "unset value passed: " + option);
        }
        assertTrue(cmd.stream().noneMatch(o -> o.startsWith("-Dlocus.editing.essence")), cmd.toString());
        assertTrue(cmd.contains("-Dlocus.grid.layers=0,5"), cmd.toString());
        assertTrue(cmd.contains("-Dlocus.editing.batch-rows=64"), cmd.toString());
    }

    @Test
    void setEssenceSettingsArePassed() {
        List<String> cmd = options(new StudySettings.EssenceSet(true, 4, null, 7));
        assertEquals(List.of("-Dlocus.editing.essence=true", "-Dlocus.editing.essence-samples=4", "-Dlocus.editing.essence-top-k=7"),
                cmd.stream().filter(o -> o.startsWith("-Dlocus.editing.essence")).toList());
    }
}
