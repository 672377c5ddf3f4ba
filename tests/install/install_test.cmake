# install_test.cmake (cmake -P): the steps of the install test, each failing loudly.
# Inputs: EMBER_BUILD_DIR WORK_DIR CONSUMER_DIR GENERATOR C_COMPILER SANITIZE, and
# DIST_CONSUMER_DIR (empty when libember_dist is not built).
cmake_minimum_required(VERSION 3.25)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

run("cmake --install into ${prefix}" ${CMAKE_COMMAND} --install ${EMBER_BUILD_DIR} --prefix ${prefix})
foreach(f include/ember.h include/ember_version.h)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${prefix}/${f}")
  endif()
endforeach()
file(GLOB_RECURSE pc_files ${prefix}/*/ember.pc)
file(GLOB_RECURSE config_files ${prefix}/*/ember-config.cmake)
file(GLOB ember_program ${prefix}/bin/ember)
if(NOT pc_files OR NOT config_files OR NOT ember_program)
  message(FATAL_ERROR "missing from ${prefix}: ember.pc='${pc_files}' "
                      "ember-config.cmake='${config_files}' bin/ember='${ember_program}'")
endif()
run("installed ember --version" ${prefix}/bin/ember --version)

# The Python package beside the library finds it without EMBER_LIBRARY.
file(GLOB_RECURSE py_init ${prefix}/__init__.py)
list(FILTER py_init INCLUDE REGEX "/ember/__init__.py$")
get_filename_component(py_dir "${py_init}" DIRECTORY)
get_filename_component(py_dir "${py_dir}" DIRECTORY)
find_program(PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH REQUIRED)
if(NOT SANITIZE) # an ASan-built libember cannot load into a plain interpreter
  run("import the installed Python package"
    ${CMAKE_COMMAND} -E env --unset=EMBER_LIBRARY PYTHONPATH=${py_dir} PYTHONDONTWRITEBYTECODE=1
    ${PYTHON3} -c "import ember; c = ember.Context('cpu'); print(ember.__file__, c)")
  message(STATUS "${last_output}")
endif()

# A library built with sanitizers needs its runtime in the program too.
set(cflags "")
if(SANITIZE)
  set(cflags "-fsanitize=${SANITIZE}")
endif()

# 1. CMake: find_package(ember) -> ember::ember
run("configure the consumer with find_package(ember)"
  ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/cmake-consumer -G ${GENERATOR}
  -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_PREFIX_PATH=${prefix} "-DCMAKE_C_FLAGS=${cflags}"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
run("build the consumer (CMake)" ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-consumer)
run("run the consumer (CMake)" ${WORK_DIR}/cmake-consumer/consumer)
message(STATUS "${last_output}")

# 2. pkg-config: cc $(pkg-config --cflags --libs ember)
get_filename_component(pc_dir ${pc_files} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
find_program(PKG_CONFIG pkg-config REQUIRED)
run("pkg-config --cflags --libs ember" ${PKG_CONFIG} --cflags --libs ember)
string(STRIP "${last_output}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run("pkg-config --variable=libdir ember" ${PKG_CONFIG} --variable=libdir ember)
string(STRIP "${last_output}" libdir)
separate_arguments(cflags_list UNIX_COMMAND "${cflags}")
run("build the consumer (pkg-config)"
  ${C_COMPILER} -std=c11 ${cflags_list} ${CONSUMER_DIR}/main.c -o ${WORK_DIR}/pc-consumer
  ${pc_flags} -Wl,-rpath,${libdir})
run("run the consumer (pkg-config)" ${WORK_DIR}/pc-consumer)
message(STATUS "${last_output}")

# 3. libember_dist (built when MPI was found): find_package(ember COMPONENTS dist) and
#    ember_dist.pc; the program runs as one MPI rank (a singleton, no mpirun).
if(DIST_CONSUMER_DIR)
  # Under ASan, Open MPI's own leaks need named frames to be suppressed (tests/dist).
  set(ENV{OMPI_MCA_mca_base_component_disable_dlclose} 1)
  set(ENV{ASAN_OPTIONS} "$ENV{ASAN_OPTIONS}:fast_unwind_on_malloc=0")
  run("configure the dist consumer with find_package(ember COMPONENTS dist)"
    ${CMAKE_COMMAND} -S ${DIST_CONSUMER_DIR} -B ${WORK_DIR}/cmake-dist-consumer -G ${GENERATOR}
    -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_PREFIX_PATH=${prefix} "-DCMAKE_C_FLAGS=${cflags}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
  run("build the dist consumer (CMake)" ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-dist-consumer)
  run("run the dist consumer (CMake)" ${WORK_DIR}/cmake-dist-consumer/consumer)
  message(STATUS "${last_output}")
  run("pkg-config --cflags --libs ember_dist" ${PKG_CONFIG} --cflags --libs ember_dist)
  string(STRIP "${last_output}" pc_flags)
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  run("build the dist consumer (pkg-config)" ${C_COMPILER} -std=c11 ${cflags_list}
    ${DIST_CONSUMER_DIR}/main.c -o ${WORK_DIR}/pc-dist-consumer ${pc_flags} -Wl,-rpath,${libdir})
  run("run the dist consumer (pkg-config)" ${WORK_DIR}/pc-dist-consumer)
  message(STATUS "${last_output}")
endif()
