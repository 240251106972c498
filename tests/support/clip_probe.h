// Reads a clip back with FFmpeg's libavformat and libavcodec: its container, codec, frame
// size and the number of frames that decode. For the clip tests (tests/video, tests/ui).
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <string>

namespace testutil {

struct ClipInfo {
    bool ok = false;
    std::string error, container, codec;
    int width = 0, height = 0, frames = 0, packets = 0; // frames: decoded and shown (a player drops packets an edit list cuts)
    double fps = 0;
};

inline ClipInfo probeClip(const std::string& path) {
    ClipInfo info;
    AVFormatContext* fmt = nullptr;
    if (avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) < 0) {
        info.error = "cannot open";
        return info;
    }
    AVCodecContext* dec = nullptr;
    AVPacket* pkt = av_packet_alloc();
    AVFrame* frame = av_frame_alloc();
    auto done = [&] {
        av_frame_free(&frame);
        av_packet_free(&pkt);
        avcodec_free_context(&dec);
        avformat_close_input(&fmt);
        return info;
    };
    if (avformat_find_stream_info(fmt, nullptr) < 0) {
        info.error = "no stream info";
        return done();
    }
    info.container = fmt->iformat->name;
    const AVCodec* codec = nullptr;
    const int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si < 0 || !codec) {
        info.error = "no video stream";
        return done();
    }
    const AVStream* st = fmt->streams[si];
    info.codec = avcodec_get_name(st->codecpar->codec_id);
    info.width = st->codecpar->width;
    info.height = st->codecpar->height;
    info.fps = av_q2d(st->avg_frame_rate);
    dec = avcodec_alloc_context3(codec);
    if (avcodec_parameters_to_context(dec, st->codecpar) < 0 || avcodec_open2(dec, codec, nullptr) < 0) {
        info.error = "cannot open the decoder";
        return done();
    }
    auto receive = [&] {
        while (avcodec_receive_frame(dec, frame) == 0) {
            if (frame->width != info.width || frame->height != info.height) info.error = "a frame of another size";
            ++info.frames;
            av_frame_unref(frame);
        }
    };
    while (av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == si) {
            ++info.packets;
            int rc = avcodec_send_packet(dec, pkt);
            if (rc == AVERROR(EAGAIN)) { // output first, then the packet again
                receive();
                rc = avcodec_send_packet(dec, pkt);
            }
            if (rc < 0) info.error = "a packet does not decode";
            receive();
        }
        av_packet_unref(pkt);
    }
    avcodec_send_packet(dec, nullptr);
    receive();
    info.ok = info.error.empty();
    return done();
}

} // namespace testutil
