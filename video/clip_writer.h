// Writing a clip (MP4 or animated GIF) frame by frame with FFmpeg's libavcodec and
// libavformat (Debian's packages, found with pkg-config).
//
//   MP4: H.264 (libx264) when this FFmpeg build has an encoder for it, otherwise MPEG-4 Part 2;
//        yuv420p (what players and slide software expect), the index at the front
//        (movflags=+faststart) so it starts playing before it is fully loaded.
//   GIF: FFmpeg's gif encoder, from palettised (PAL8) frames; one palette for the whole clip,
//        made from the first frame's most common colours plus an even spread of colours for
//        the rest, so flat areas keep their exact colour and nothing flickers; loops forever.
//
// The file appears atomically: frames go to a temporary file next to the target, renamed
// over it by finish(); cancel() or destroying an unfinished writer removes the temporary
// file and leaves the target as it was. Errors throw ClipError naming the target file.
#pragma once

#include <QImage>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace video {

struct ClipError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class ClipFormat { Mp4, Gif };
const char* formatName(ClipFormat f); // "mp4", "gif"
// "mp4" or "gif" (any case); nullopt-like: throws ClipError for anything else
ClipFormat parseFormat(const std::string& name);

class ClipWriter {
public:
    // width and height are rounded down to even numbers (yuv420p needs them), at least 16;
    // fps is the clip's frame rate (frames per second)
    ClipWriter(const std::filesystem::path& target, ClipFormat format, int width, int height, int fps);
    ~ClipWriter();
    ClipWriter(const ClipWriter&) = delete;
    ClipWriter& operator=(const ClipWriter&) = delete;

    int width() const;
    int height() const;
    // the encoder in use ("libx264", "mpeg4", "gif")
    std::string encoderName() const;
    // one frame; scaled to width() x height() when it has another size
    void addFrame(const QImage& frame);
    int frames() const;
    // flushes the encoder, writes the trailer and renames the temporary file over the target
    void finish();
    // stops and removes the temporary file (also done by the destructor before finish())
    void cancel();

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

} // namespace video
