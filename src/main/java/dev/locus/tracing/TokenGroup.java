package dev.locus.tracing;

/**
 * The token groups of the ROME paper's average trace, in display order, by which traces of prompts of different lengths are
 * averaged. As there, groups may share a row: a one-token subject is both its first and last token, and with one token
 * after the subject that token is both the first subsequent and the last token.
 */
public enum TokenGroup {
    FIRST_SUBJECT("first subject token"),
    MIDDLE_SUBJECT("middle subject tokens"),
    LAST_SUBJECT("last subject token"),
    FIRST_SUBSEQUENT("first subsequent token"),
    FURTHER("further tokens"),
    LAST("last token");

    private final String label;

    TokenGroup(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** Rows [from, to) of this group in a prompt of {@code length} tokens with the subject at [start, end); empty where the prompt has none. */
    public int[] rows(int subjectStart, int subjectEnd, int length) {
        return switch (this) {
            case FIRST_SUBJECT -> span(subjectStart, subjectStart + 1);
            case MIDDLE_SUBJECT -> span(subjectStart + 1, subjectEnd - 1);
            case LAST_SUBJECT -> span(subjectEnd - 1, subjectEnd);
            case FIRST_SUBSEQUENT -> span(subjectEnd, Math.min(subjectEnd + 1, length));
            case FURTHER -> span(subjectEnd + 1, length - 1);
            case LAST -> span(length - 1, length);
        };
    }

    private static int[] span(int from, int to) {
        return new int[] {from, Math.max(from, to)};
    }

    /**
     * One fact's [token][layer] grid reduced to [group][layer]: each group the mean of its rows,
     * null for a group the fact lacks.
     */
    public static double[][] groupRows(double[][] grid, int subjectStart, int subjectEnd) {
        double[][] out = new double[values().length][];
        for (TokenGroup group : values()) {
            int[] rows = group.rows(subjectStart, subjectEnd, grid.length);
            if (rows[1] > rows[0]) {
                double[] mean = new double[grid[0].length];
                for (int t = rows[0]; t < rows[1]; t++) {
                    for (int l = 0; l < mean.length; l++) {
                        mean[l] += grid[t][l] / (rows[1] - rows[0]);
                    }
                }
                out[group.ordinal()] = mean;
            }
        }
        return out;
    }
}
