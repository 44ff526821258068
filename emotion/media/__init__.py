"""Where audio comes from: sources, links, local files, ffmpeg PCM, the disk budget."""
