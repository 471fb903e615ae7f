# Fleet simulator benchmarks (included from bench/CMakeLists.txt).
timescan_add_benchmark(sim_benchmark ${CMAKE_CURRENT_SOURCE_DIR}/sim_benchmark.cc)
