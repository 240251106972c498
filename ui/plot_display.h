// The display data of a time series: an optional debiased exponential moving average
// (TensorBoard's smoothing) and min/max decimation to at most maxPoints points, which keeps
// the envelope of the full data. Used by PlotWidget before each paint.
#pragma once

#include <qcustomplot.h>
#include <vector>

namespace ui {

// xs and ys are the samples (NaN = missing); smoothing in [0, 0.99], 0 = raw. dropNaN leaves
// missing samples out instead of breaking the line at them.
void buildDisplay(const std::vector<double>& xs, std::vector<double> ys, double smoothing, bool dropNaN,
                  int maxPoints, QVector<QCPGraphData>& out);

} // namespace ui
