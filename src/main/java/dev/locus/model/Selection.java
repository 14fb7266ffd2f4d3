package dev.locus.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** Which (batch row, token position) cells of a [batch, tokens, width] activation an intervention touches. */
@FunctionalInterface
public interface Selection {

    boolean contains(int row, int position);

    /** The given positions in every row. */
    static Selection positions(int... positions) {
        return (row, position) -> indexOf(positions, position) >= 0;
    }

    /** The given positions in the given rows. */
    static Selection cells(int[] rows, int[] positions) {
        return (row, position) -> indexOf(rows, row) >= 0 && indexOf(positions, position) >= 0;
    }

    /** One position per row: {@code positionOfRow[row]}, or none where it is negative. */
    static Selection onePerRow(int[] positionOfRow) {
        return (row, position) -> row < positionOfRow.length && positionOfRow[row] == position;
    }

    /** A boolean mask of the activation's shape ([batch, tokens, width]) in its manager. */
    default NDArray mask(NDArray activation) {
        Shape s = activation.getShape();
        int rows = (int) s.get(0);
        int tokens = (int) s.get(1);
        boolean[] m = new boolean[rows * tokens];
        for (int b = 0; b < rows; b++) {
            for (int t = 0; t < tokens; t++) {
                m[b * tokens + t] = contains(b, t);
            }
        }
        // DJL's where() does not broadcast its condition, so expand it to the full shape.
        return activation.getManager().create(m, new Shape(rows, tokens, 1)).broadcast(s);
    }

    private static int indexOf(int[] values, int v) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] == v) {
                return i;
            }
        }
        return -1;
    }
}
