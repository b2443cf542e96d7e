// reluforge-bench --mlp: one training step (forward, saving what backward needs, then backward
// of every layer) of a small MLP, the way a training loop runs it: reluforge's fused layers with
// the chained backward against oneDNN's best recipe for the same step.
#pragma once

#include <reluforge/reluforge.h>

#include <memory>
#include <string>
#include <vector>

namespace bench {

struct MlpProblem {
    int batch;
    std::vector<int> widths;  // input, hidden..., output
    reluforge::Activation act;  // of the hidden layers; the output layer is identity
    // Per layer l (in = widths[l], out = widths[l+1]): W [in,out], b [out]; h[l] is layer l's
    // input (h[0] the batch), h[L] the output; z[l] layer l's pre-activation where kept.
    std::vector<std::vector<float>> w, b, dw, db, h, z, dz;
    MlpProblem(int batch, std::vector<int> widths, reluforge::Activation act);
    int layers() const { return int(widths.size()) - 1; }
    double step_flops() const;  // forward 2·B·in·out per layer, backward dW and dX (but the input's)
};

class MlpImpl {
public:
    virtual ~MlpImpl() = default;
    virtual std::string name() const = 0;
    virtual void step(MlpProblem &p) = 0;
};

std::unique_ptr<MlpImpl> make_reluforge_mlp(MlpProblem &p);
std::unique_ptr<MlpImpl> make_onednn_mlp(MlpProblem &p);  // nullptr without oneDNN, or for an activation it lacks

}  // namespace bench
