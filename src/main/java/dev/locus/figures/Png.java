package dev.locus.figures;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Writes the figures (drawn off-screen) as PNG files, creating the folder they go in. */
public final class Png {
    private Png() {}

    public static void write(BufferedImage figure, Path png) throws IOException {
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(figure, "png", png.toFile())) {
            throw new IOException("no PNG writer available");
        }
    }
}
