// The median of a benchmark's samples (the mean of the two middle ones for an even count): the
// one statistic the timing drivers (bench_kernel.cu, read_pattern.cu) report.
#pragma once
#include <algorithm>
#include <vector>

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
