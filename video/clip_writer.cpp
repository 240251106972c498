#include "video/clip_writer.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <fcntl.h>
#include <unistd.h>

#include <QPainter>
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace video {

namespace fs = std::filesystem;

const char* formatName(ClipFormat f) { return f == ClipFormat::Gif ? "gif" : "mp4"; }

ClipFormat parseFormat(const std::string& name) {
    std::string s = name;
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == "mp4") return ClipFormat::Mp4;
    if (s == "gif") return ClipFormat::Gif;
    throw ClipError("'" + name + "' is not a clip format (mp4 or gif)");
}

namespace {

std::string avError(int code) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, buf, sizeof buf);
    return buf;
}

// The GIF palette: the first frame's most common colours (the background, the bodies, the
// HUD's box and text) exactly, then a 6 x 6 x 6 cube of evenly spread colours for
// anti-aliased edges and anything that appears later. Each pixel takes the nearest entry
// (squared RGB distance), looked up once per 15-bit colour.
class Palette {
public:
    void build(const QImage& first) {
        std::unordered_map<std::uint32_t, int> counts;
        for (int y = 0; y < first.height(); ++y) {
            const auto* row = reinterpret_cast<const std::uint32_t*>(first.constScanLine(y));
            for (int x = 0; x < first.width(); ++x) ++counts[row[x] & 0xffffffu];
        }
        std::vector<std::pair<int, std::uint32_t>> byCount;
        for (const auto& [c, n] : counts) byCount.push_back({n, c});
        std::sort(byCount.begin(), byCount.end(), [](const auto& a, const auto& b) {
            return a.first != b.first ? a.first > b.first : a.second < b.second;
        });
        m_size = 0;
        const size_t exact = std::min<size_t>(byCount.size(), 256 - 216);
        for (size_t i = 0; i < exact; ++i) m_rgb[m_size++] = byCount[i].second;
        for (int r = 0; r < 6; ++r)
            for (int g = 0; g < 6; ++g)
                for (int b = 0; b < 6; ++b)
                    m_rgb[m_size++] = static_cast<std::uint32_t>((r * 51) << 16 | (g * 51) << 8 | (b * 51));
        m_lookup.assign(1u << 15, -1);
        m_exact.clear();
        for (size_t i = 0; i < exact; ++i) m_exact[m_rgb[i]] = static_cast<std::uint8_t>(i);
    }
    // AV_PIX_FMT_PAL8's palette: 256 native-endian 0xAARRGGBB entries, all opaque
    void write(std::uint8_t* dst) const {
        auto* out = reinterpret_cast<std::uint32_t*>(dst);
        for (int i = 0; i < 256; ++i) out[i] = 0xff000000u | (i < m_size ? m_rgb[static_cast<size_t>(i)] : 0u);
    }
    std::uint8_t index(std::uint32_t rgb) {
        rgb &= 0xffffffu;
        if (const auto it = m_exact.find(rgb); it != m_exact.end()) return it->second;
        const std::uint32_t key = ((rgb >> 9) & 0x7c00u) | ((rgb >> 6) & 0x3e0u) | ((rgb >> 3) & 0x1fu);
        int& slot = m_lookup[key];
        if (slot < 0) {
            // the centre of the 15-bit cell
            const int r = static_cast<int>((key >> 10) & 31) * 8 + 4, g = static_cast<int>((key >> 5) & 31) * 8 + 4,
                      b = static_cast<int>(key & 31) * 8 + 4;
            int best = 0, bestD = 1 << 30;
            for (int i = 0; i < m_size; ++i) {
                const std::uint32_t c = m_rgb[static_cast<size_t>(i)];
                const int dr = r - static_cast<int>(c >> 16 & 255), dg = g - static_cast<int>(c >> 8 & 255),
                          db = b - static_cast<int>(c & 255);
                const int d = dr * dr + dg * dg + db * db;
                if (d < bestD) {
                    bestD = d;
                    best = i;
                }
            }
            slot = best;
        }
        return static_cast<std::uint8_t>(slot);
    }

private:
    std::array<std::uint32_t, 256> m_rgb{};
    int m_size = 0;
    std::vector<int> m_lookup;
    std::unordered_map<std::uint32_t, std::uint8_t> m_exact;
};

fs::path temporaryPath(const fs::path& target) {
    static std::atomic<unsigned> counter{0};
    std::string name(1, '.');
    name += target.filename().string();
    name += '.';
    name += std::to_string(::getpid());
    name += '.';
    name += std::to_string(counter++);
    name += ".part";
    return target.parent_path() / name;
}

} // namespace

struct ClipWriter::Impl {
    fs::path target, temp;
    ClipFormat format = ClipFormat::Mp4;
    int width = 0, height = 0, fps = 25;
    AVFormatContext* fmt = nullptr;
    AVCodecContext* enc = nullptr;
    AVStream* stream = nullptr;
    SwsContext* sws = nullptr;
    AVFrame* frame = nullptr;
    AVPacket* packet = nullptr;
    std::int64_t nextPts = 0;
    bool fileOpen = false, headerWritten = false, done = false;
    Palette palette;
    int frames = 0;

    [[noreturn]] void fail(const std::string& what) { throw ClipError(target.string() + ": " + what); }

    // every packet the encoder has ready (all of them once flushed) into the file
    void drain() {
        while (true) {
            const int rc = avcodec_receive_packet(enc, packet);
            if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
            if (rc < 0) fail(std::string("encoding failed: ") + avError(rc));
            // each frame lasts one frame interval; without it the MP4's edit list ends at the
            // last frame's start and players drop that frame
            if (packet->duration <= 0) packet->duration = 1;
            av_packet_rescale_ts(packet, enc->time_base, stream->time_base);
            packet->stream_index = stream->index;
            const int w = av_interleaved_write_frame(fmt, packet);
            if (w < 0) fail(std::string("cannot write: ") + avError(w));
        }
    }
    void release() {
        if (fileOpen && fmt && fmt->pb) avio_closep(&fmt->pb);
        fileOpen = false;
        avformat_free_context(fmt);
        fmt = nullptr;
        avcodec_free_context(&enc);
        sws_freeContext(sws);
        sws = nullptr;
        av_frame_free(&frame);
        av_packet_free(&packet);
    }
    void discard() {
        release();
        std::error_code ec;
        if (!temp.empty()) fs::remove(temp, ec);
        done = true;
    }
};

ClipWriter::ClipWriter(const fs::path& target, ClipFormat format, int width, int height, int fps)
    : m(std::make_unique<Impl>()) {
    // FFmpeg's own log only for errors: its encoder statistics are not for the user
    if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
    Impl& d = *m;
    d.target = target;
    d.format = format;
    d.width = std::max(16, width - width % 2);
    d.height = std::max(16, height - height % 2);
    d.fps = std::clamp(fps, 1, 100);
    if (target.empty()) throw ClipError("no file name given for the clip");
    std::error_code ec;
    if (fs::is_directory(target, ec)) d.fail("is a directory");
    const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    if (!fs::is_directory(dir, ec)) d.fail("the folder " + dir.string() + " does not exist");
    d.temp = temporaryPath(target);
    try {
        const AVCodec* codec = nullptr;
        if (format == ClipFormat::Gif) {
            codec = avcodec_find_encoder(AV_CODEC_ID_GIF);
            if (!codec) d.fail("this FFmpeg build has no GIF encoder");
        } else {
            codec = avcodec_find_encoder(AV_CODEC_ID_H264);
            if (!codec) codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
            if (!codec) d.fail("this FFmpeg build has neither an H.264 nor an MPEG-4 encoder");
        }
        const std::string tempName = d.temp.string();
        int rc = avformat_alloc_output_context2(&d.fmt, nullptr, formatName(format), tempName.c_str());
        if (rc < 0 || !d.fmt) d.fail(std::string("FFmpeg has no ") + formatName(format) + " muxer: " + avError(rc));
        d.stream = avformat_new_stream(d.fmt, nullptr);
        d.enc = avcodec_alloc_context3(codec);
        d.frame = av_frame_alloc();
        d.packet = av_packet_alloc();
        if (!d.stream || !d.enc || !d.frame || !d.packet) d.fail("out of memory");
        d.enc->width = d.width;
        d.enc->height = d.height;
        d.enc->time_base = AVRational{1, d.fps};
        d.enc->framerate = AVRational{d.fps, 1};
        d.enc->pix_fmt = format == ClipFormat::Gif ? AV_PIX_FMT_PAL8 : AV_PIX_FMT_YUV420P;
        d.enc->thread_count = 1; // the training and the studio have the other cores
        if (format == ClipFormat::Mp4) {
            d.enc->gop_size = 2 * d.fps;
            // no B-frames: frames are stored in the order they are shown, which simple players
            // (slide software's) handle best
            d.enc->max_b_frames = 0;
            if (std::strcmp(codec->name, "libx264") == 0) {
                av_opt_set(d.enc->priv_data, "preset", "veryfast", 0);
                av_opt_set(d.enc->priv_data, "crf", "20", 0);
            } else {
                // MPEG-4 Part 2 at a fixed quantiser (2 = best .. 31)
                d.enc->flags |= AV_CODEC_FLAG_QSCALE;
                d.enc->global_quality = FF_QP2LAMBDA * 3;
            }
        }
        if (d.fmt->oformat->flags & AVFMT_GLOBALHEADER) d.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        rc = avcodec_open2(d.enc, codec, nullptr);
        if (rc < 0) d.fail(std::string("cannot open the ") + codec->name + " encoder: " + avError(rc));
        rc = avcodec_parameters_from_context(d.stream->codecpar, d.enc);
        if (rc < 0) d.fail(std::string("encoder parameters: ") + avError(rc));
        d.stream->time_base = d.enc->time_base;

        d.frame->format = d.enc->pix_fmt;
        d.frame->width = d.width;
        d.frame->height = d.height;
        rc = av_frame_get_buffer(d.frame, 0);
        if (rc < 0) d.fail(std::string("frame buffer: ") + avError(rc));
        if (format == ClipFormat::Mp4) {
            d.sws = sws_getContext(d.width, d.height, AV_PIX_FMT_RGB32, d.width, d.height, AV_PIX_FMT_YUV420P,
                                   SWS_BICUBIC, nullptr, nullptr, nullptr);
            if (!d.sws) d.fail("no colour conversion to yuv420p");
        }

        rc = avio_open(&d.fmt->pb, tempName.c_str(), AVIO_FLAG_WRITE);
        if (rc < 0) d.fail(std::string("cannot write in ") + dir.string() + ": " + avError(rc));
        d.fileOpen = true;
        AVDictionary* opts = nullptr;
        if (format == ClipFormat::Mp4) av_dict_set(&opts, "movflags", "+faststart", 0);
        else av_dict_set(&opts, "loop", "0", 0); // 0: forever
        rc = avformat_write_header(d.fmt, &opts);
        av_dict_free(&opts);
        if (rc < 0) d.fail(std::string("cannot start the file: ") + avError(rc));
        d.headerWritten = true;
    } catch (...) {
        d.discard();
        throw;
    }
}

ClipWriter::~ClipWriter() {
    if (m && !m->done) m->discard();
}

int ClipWriter::width() const { return m->width; }
int ClipWriter::height() const { return m->height; }
int ClipWriter::frames() const { return m->frames; }
std::string ClipWriter::encoderName() const { return m->enc ? m->enc->codec->name : ""; }

void ClipWriter::addFrame(const QImage& in) {
    Impl& d = *m;
    if (d.done) throw ClipError(d.target.string() + ": the clip is already finished or cancelled");
    QImage img = in.size() == QSize(d.width, d.height)
                     ? in.convertToFormat(QImage::Format_RGB32)
                     : in.scaled(d.width, d.height, Qt::IgnoreAspectRatio, Qt::SmoothTransformation)
                           .convertToFormat(QImage::Format_RGB32);
    try {
        int rc = av_frame_make_writable(d.frame);
        if (rc < 0) d.fail(std::string("frame buffer: ") + avError(rc));
        if (d.format == ClipFormat::Gif) {
            if (d.frames == 0) d.palette.build(img);
            d.palette.write(d.frame->data[1]);
            for (int y = 0; y < d.height; ++y) {
                const auto* src = reinterpret_cast<const std::uint32_t*>(img.constScanLine(y));
                std::uint8_t* dst = d.frame->data[0] + static_cast<std::ptrdiff_t>(y) * d.frame->linesize[0];
                for (int x = 0; x < d.width; ++x) dst[x] = d.palette.index(src[x]);
            }
        } else {
            const std::uint8_t* srcData[1] = {img.constBits()};
            const int srcStride[1] = {static_cast<int>(img.bytesPerLine())};
            sws_scale(d.sws, srcData, srcStride, 0, d.height, d.frame->data, d.frame->linesize);
        }
        d.frame->pts = d.nextPts++;
        rc = avcodec_send_frame(d.enc, d.frame);
        if (rc < 0) d.fail(std::string("encoding failed: ") + avError(rc));
        d.drain();
        ++d.frames;
    } catch (...) {
        d.discard();
        throw;
    }
}

void ClipWriter::finish() {
    Impl& d = *m;
    if (d.done) throw ClipError(d.target.string() + ": the clip is already finished or cancelled");
    try {
        if (d.frames == 0) d.fail("no frames to write");
        int rc = avcodec_send_frame(d.enc, nullptr);
        if (rc < 0) d.fail(std::string("encoding failed: ") + avError(rc));
        d.drain();
        rc = av_write_trailer(d.fmt);
        if (rc < 0) d.fail(std::string("cannot finish the file: ") + avError(rc));
        rc = avio_closep(&d.fmt->pb);
        d.fileOpen = false;
        if (rc < 0) d.fail(std::string("cannot write: ") + avError(rc));
        // on disk before the rename, so a crash leaves either the old file or the whole clip
        const int fd = ::open(d.temp.c_str(), O_RDONLY);
        if (fd < 0 || ::fsync(fd) != 0) {
            if (fd >= 0) ::close(fd);
            d.fail("cannot flush the clip to disk");
        }
        ::close(fd);
        std::error_code ec;
        fs::rename(d.temp, d.target, ec);
        if (ec) d.fail("cannot replace the file: " + ec.message());
        d.release();
        d.done = true;
    } catch (...) {
        d.discard();
        throw;
    }
}

void ClipWriter::cancel() {
    if (!m->done) m->discard();
}

} // namespace video
