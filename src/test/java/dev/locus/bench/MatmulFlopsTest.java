package dev.locus.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** The profiler-based count on products of known size: 2·m·k·n each, batched ones times their batch, nothing else. */
class MatmulFlopsTest {
    @Test
    void countsTheProductsThatRan() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.randomNormal(new Shape(30, 40));
            NDArray b = m.randomNormal(new Shape(40, 50));
            NDArray x = m.randomNormal(new Shape(6, 30, 40));
            NDArray y = m.randomNormal(new Shape(6, 40, 50));
            double flops = MatmulFlops.count(() -> {
                a.matMul(b).close(); // mm: 2·30·40·50
                x.matMul(y).close(); // bmm: 6 × that
                a.add(a).exp().close(); // no product
            });
            assertEquals(2.0 * 30 * 40 * 50 * 7, flops);
        }
    }
}
