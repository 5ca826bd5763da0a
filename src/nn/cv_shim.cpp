// cv_shim.cpp — the thin C++ shim over OpenCV's DNN module (see cv_shim.h).
// Its only jobs: turn C buffers into cv::Mat and back, and make sure no C++
// exception ever crosses into C (each entry point catches everything).
#include "cv_shim.h"

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <regex>
#include <string>
#include <vector>

#include "kafu/nn.h"

struct kafu_cv_net {
  cv::dnn::Net net;
};

namespace {

// One line of an exception's text, without OpenCV's source-file prefix.
void set_msg(char *msg, size_t msglen, const char *prefix, const std::string &text) {
  if (!msg || !msglen) return;
  std::string t = text;
  size_t nl = t.find('\n');
  if (nl != std::string::npos) t.resize(nl);
  // "OpenCV(4.6.0) ./modules/dnn/src/x.cpp:190: error: (-215:Assertion failed) " says nothing to a user
  static const std::regex noise("OpenCV\\([^)]*\\) [^ ]+:[0-9]+: error: \\(-?[0-9]+:[^)]*\\) ");
  t = std::regex_replace(t, noise, "");
  while (!t.empty() && (t.back() == ' ' || t.back() == '\r')) t.pop_back();
  snprintf(msg, msglen, "%s%s", prefix, t.c_str());
}

int from_exception(char *msg, size_t msglen) {
  try {
    throw;
  } catch (const cv::Exception &e) {
    std::string text = e.err.empty() ? e.msg : e.err;
    if (!e.func.empty() && text.find("in function") == std::string::npos) text += " (in " + e.func + ")";
    set_msg(msg, msglen, "OpenCV: ", text);
    return e.code == cv::Error::StsNoMem ? KAFU_NN_TOO_LARGE : KAFU_NN_RUNTIME_ERROR;
  } catch (const std::bad_alloc &) {
    set_msg(msg, msglen, "", "out of memory");
    return KAFU_NN_TOO_LARGE;
  } catch (const std::exception &e) {
    set_msg(msg, msglen, "OpenCV: ", e.what());
    return KAFU_NN_RUNTIME_ERROR;
  } catch (...) {
    set_msg(msg, msglen, "", "OpenCV: unknown exception");
    return KAFU_NN_RUNTIME_ERROR;
  }
}

// ONNX CumSum. OpenCV 4.6's own CumSum layer advances its input offset once
// per element of the dimensions after the axis: whenever one of them is over
// 1 it reads and writes past both tensors (a [1024,1024] input crashes the
// process). This one replaces it, with the same parameters: "axis" (set by the
// importer when the axis input is a constant), "exclusive", "reverse"; an axis
// that is not a constant arrives as a second input.
class CumSumLayer final : public cv::dnn::Layer {
 public:
  explicit CumSumLayer(const cv::dnn::LayerParams &p)
      : axis_(p.get<int>("axis", 0)),
        exclusive_(p.get<int>("exclusive", 0) != 0),
        reverse_(p.get<int>("reverse", 0) != 0) {
    setParamsFrom(p);
  }
  static cv::Ptr<cv::dnn::Layer> create(cv::dnn::LayerParams &p) { return cv::makePtr<CumSumLayer>(p); }

  bool getMemoryShapes(const std::vector<cv::dnn::MatShape> &in, const int required,
                       std::vector<cv::dnn::MatShape> &out, std::vector<cv::dnn::MatShape> &) const override {
    CV_Assert(!in.empty());
    out.assign(std::max(1, required), in[0]);
    return false;
  }

  void forward(cv::InputArrayOfArrays in_arr, cv::OutputArrayOfArrays out_arr,
               cv::OutputArrayOfArrays) override {
    std::vector<cv::Mat> in, out;
    in_arr.getMatVector(in);
    out_arr.getMatVector(out);
    CV_Assert(!in.empty() && !out.empty());
    const cv::Mat &x = in[0];
    cv::Mat &y = out[0];
    CV_CheckTypeEQ(x.type(), CV_32F, "CumSum computes in float32");
    CV_Assert(y.type() == CV_32F && y.total() == x.total() && x.isContinuous() && y.isContinuous());
    int axis = axis_;
    if (in.size() > 1) {
      CV_CheckEQ(in[1].total(), (size_t)1, "CumSum: the axis must be a scalar");
      CV_CheckTypeEQ(in[1].type(), CV_32F, "CumSum axis");
      float a = in[1].ptr<float>()[0];
      if (!(a >= -64 && a <= 64) || a != (float)(int)a)
        CV_Error(cv::Error::StsOutOfRange, "CumSum: bad axis");
      axis = (int)a;
    }
    const int rank = x.dims;
    if (axis < -rank || axis >= rank)
      CV_Error(cv::Error::StsOutOfRange,
               "CumSum: axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    if (axis < 0) axis += rank;
    const size_t outer = x.total(0, axis), n = (size_t)x.size[axis], inner = x.total(axis + 1);
    const float *src = x.ptr<float>();
    float *dst = y.ptr<float>();
    for (size_t o = 0; o < outer; o++)
      for (size_t i = 0; i < inner; i++) {
        const size_t base = o * n * inner + i;
        float acc = 0;
        for (size_t k = 0; k < n; k++) {
          const size_t at = base + (reverse_ ? n - 1 - k : k) * inner;
          const float v = src[at];
          if (exclusive_) {
            dst[at] = acc;
            acc += v;
          } else {
            acc += v;
            dst[at] = acc;
          }
        }
      }
    for (size_t j = 1; j < out.size(); j++) out[j].setTo(0);
  }

 private:
  int axis_;
  bool exclusive_, reverse_;
};

void init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // OpenCV logs its own copy of every error it throws; the exception text
    // reaches our log already. KAFU_LOG=debug keeps OpenCV's output.
    const char *lvl = getenv("KAFU_LOG");
    if (!lvl || strcmp(lvl, "debug") != 0)
      cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    // the last layer registered for a type is the one the importer creates
    cv::dnn::LayerFactory::registerLayer("CumSum", CumSumLayer::create);
  });
}

}  // namespace

extern "C" int kafu_cv_load_onnx(const uint8_t *bytes, size_t len, kafu_cv_net **out, char *msg,
                                 size_t msglen) {
  *out = nullptr;
  try {
    init_once();
    cv::dnn::Net net = cv::dnn::readNetFromONNX(reinterpret_cast<const char *>(bytes), len);
    if (net.empty()) {
      set_msg(msg, msglen, "", "OpenCV built an empty network");
      return KAFU_NN_INVALID_ENCODING;
    }
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    *out = new kafu_cv_net{net};
    return KAFU_NN_OK;
  } catch (...) {
    int rc = from_exception(msg, msglen);
    return rc == KAFU_NN_RUNTIME_ERROR ? KAFU_NN_INVALID_ENCODING : rc;
  }
}

extern "C" int kafu_cv_forward(kafu_cv_net *n, size_t nin, const char *const *in_names,
                               const kafu_cv_blob *ins, size_t nout, const char *const *out_names,
                               kafu_cv_blob *outs, char *msg, size_t msglen) {
  for (size_t i = 0; i < nout; i++) outs[i].data = nullptr;
  try {
    for (size_t i = 0; i < nin; i++) {
      // rank 0 (a scalar) goes in as [1]; cv::Mat stores rank 1 as [n, 1]
      int one = 1;
      int rank = ins[i].rank ? (int)ins[i].rank : 1;
      const int *dims = ins[i].rank ? ins[i].dims : &one;
      cv::Mat m(rank, dims, CV_32F, (void *)ins[i].data);
      n->net.setInput(m, in_names[i]);
    }
    std::vector<cv::String> names(out_names, out_names + nout);
    std::vector<cv::Mat> res;
    n->net.forward(res, names);
    if (res.size() != nout) {
      set_msg(msg, msglen, "",
              "OpenCV returned " + std::to_string(res.size()) + " outputs, expected " + std::to_string(nout));
      return KAFU_NN_RUNTIME_ERROR;
    }
    for (size_t i = 0; i < nout; i++) {
      cv::Mat f;
      if (res[i].depth() == CV_32F)
        f = res[i].isContinuous() ? res[i] : res[i].clone();
      else
        res[i].convertTo(f, CV_32F);
      if (f.dims > KAFU_CV_MAX_RANK) {
        set_msg(msg, msglen, "", "output of rank " + std::to_string(f.dims) + " is too deep");
        for (size_t j = 0; j < i; j++) free(outs[j].data), outs[j].data = nullptr;
        return KAFU_NN_RUNTIME_ERROR;
      }
      outs[i].rank = (uint32_t)f.dims;
      for (int d = 0; d < f.dims; d++) outs[i].dims[d] = f.size[d];
      outs[i].count = f.total();
      outs[i].data = (float *)malloc(outs[i].count ? outs[i].count * sizeof(float) : 1);
      if (!outs[i].data) throw std::bad_alloc();
      if (outs[i].count) memcpy(outs[i].data, f.ptr<float>(), outs[i].count * sizeof(float));
    }
    return KAFU_NN_OK;
  } catch (...) {
    for (size_t i = 0; i < nout; i++) free(outs[i].data), outs[i].data = nullptr;
    return from_exception(msg, msglen);
  }
}

extern "C" void kafu_cv_free(kafu_cv_net *n) {
  try {
    delete n;
  } catch (...) {
  }
}

extern "C" const char *kafu_cv_version(void) {
  static const char v[] = "OpenCV " CV_VERSION;
  return v;
}
