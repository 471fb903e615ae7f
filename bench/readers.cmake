# Reader throughput (parse and map, one core): bench/readers_benchmark.cc.
timescan_add_benchmark(readers_benchmark readers_benchmark.cc)
target_link_libraries(readers_benchmark PRIVATE simdjson::simdjson)
target_compile_definitions(readers_benchmark PRIVATE
  TIMESCAN_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
