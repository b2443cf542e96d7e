# reluforge_add_kernels(<target> SPECS <spec>... | SPECS_FILE <file>
#                       [TARGETS <avx512|avx2|sse41>...] [CUDA_CAPABILITIES <cap>...] [OPENCL]
#                       [GPU_SCHEDULE <gpu:...>] [TUNING_DB <file> [THREADS <n>]] [NAMESPACE <ns>]
#                       [SHAPES <MxKxN>... | SHAPES_FILE <file>])
#
# Runs reluforge-gen at build time and makes <target>, a library to link: it brings the kernels
# (lib<target>.a), the typed header <target>.h, the registration that lets reluforge::runtime find
# the kernels by spec, and reluforge::runtime itself. Generation reruns when the specs, targets, the
# tuning database (reluforge-tune's winners measured on the build machine, with THREADS threads,
# default one per core, become extra schedule variants) or reluforge-gen change, and only then.
# Several such targets in one program share the one Halide runtime inside reluforge::runtime. CUDA_CAPABILITIES (30 32 35 50 61 70 75 80 86; newer GPUs
# such as Hopper run the PTX of 86) adds CUDA kernels, which run on device tensors; building them
# needs no GPU or CUDA toolkit, and a program that has no GPU at run time still runs its CPU
# kernels. OPENCL adds an OpenCL kernel of each spec (the same GPU schedule), which runs on
# OpenCL tensors (reluforge/opencl.h). GPU_SCHEDULE replaces the default GPU schedule of both
# (reluforge-gen --gpu-schedule), e.g. smaller blocks for a device with smaller work-groups.
# SHAPES (or SHAPES_FILE, one per line), the layer shapes the program calls, builds only the
# variants those calls run on any kind of CPU, and each kernel's variant for every shape
# (reluforge-gen --shape): a smaller library, built faster. With an installed reluforge, specs
# are checked when CMake configures, and a bad one stops the configure with reluforge-gen's message.
function(reluforge_add_kernels target)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "OPENCL" "NAMESPACE;SPECS_FILE;TUNING_DB;THREADS;GPU_SCHEDULE;SHAPES_FILE" "SPECS;TARGETS;CUDA_CAPABILITIES;SHAPES")
    if (ARG_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "reluforge_add_kernels(${target}): unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
    endif ()
    if (NOT ARG_SPECS AND NOT ARG_SPECS_FILE)
        message(FATAL_ERROR "reluforge_add_kernels(${target}): give SPECS <spec>... or SPECS_FILE <file>")
    endif ()
    if (NOT target MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
        message(FATAL_ERROR "reluforge_add_kernels(${target}): the target name must be a C identifier")
    endif ()
    if (NOT ARG_TARGETS)
        set(ARG_TARGETS avx512 avx2 sse41)
    endif ()
    foreach (t IN LISTS ARG_TARGETS)
        if (NOT t MATCHES "^(avx512|avx2|sse41)$")
            message(FATAL_ERROR "reluforge_add_kernels(${target}): unknown target '${t}'; allowed: avx512 avx2 sse41")
        endif ()
    endforeach ()
    set(cuda_args)
    foreach (c IN LISTS ARG_CUDA_CAPABILITIES)
        if (NOT c MATCHES "^(30|32|35|50|61|70|75|80|86)$")
            message(FATAL_ERROR "reluforge_add_kernels(${target}): unknown CUDA capability '${c}'; allowed: "
                                "30 32 35 50 61 70 75 80 86 (newer GPUs run the PTX of 86)")
        endif ()
    endforeach ()
    if (ARG_CUDA_CAPABILITIES)
        string(REPLACE ";" "," cuda_list "${ARG_CUDA_CAPABILITIES}")
        set(cuda_args --cuda-capability ${cuda_list})
    endif ()
    set(opencl_args)
    if (ARG_OPENCL)
        set(opencl_args --opencl)
    endif ()
    set(gpu_schedule_args)
    if (ARG_GPU_SCHEDULE)
        set(gpu_schedule_args --gpu-schedule ${ARG_GPU_SCHEDULE})
    endif ()
    set(db_args)
    if (ARG_TUNING_DB)
        get_filename_component(ARG_TUNING_DB ${ARG_TUNING_DB} ABSOLUTE)
        if (NOT EXISTS ${ARG_TUNING_DB})
            message(FATAL_ERROR "reluforge_add_kernels(${target}): TUNING_DB ${ARG_TUNING_DB} does not exist")
        endif ()
        set(db_args --tuning-db ${ARG_TUNING_DB})
        if (ARG_THREADS)
            list(APPEND db_args --threads ${ARG_THREADS})
        endif ()
    elseif (ARG_THREADS)
        message(FATAL_ERROR "reluforge_add_kernels(${target}): THREADS says which tuning records to use; it needs TUNING_DB")
    endif ()
    if (NOT ARG_NAMESPACE)
        set(ARG_NAMESPACE ${target})
    endif ()

    set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}.reluforge)
    get_target_property(gen_is_installed reluforge::gen IMPORTED)
    if (gen_is_installed AND ARG_SPECS)
        get_target_property(gen_path reluforge::gen LOCATION)
        set(check_args)
        foreach (s IN LISTS ARG_SPECS)
            list(APPEND check_args --spec "${s}")
        endforeach ()
        execute_process(COMMAND ${gen_path} --canonical ${check_args}
                        RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE message)
        if (NOT rc EQUAL 0)
            string(STRIP "${message}" message)
            message(FATAL_ERROR "reluforge_add_kernels(${target}): ${message}")
        endif ()
    endif ()
    set(spec_args)
    foreach (s IN LISTS ARG_SPECS)
        list(APPEND spec_args --spec "${s}")
    endforeach ()
    set(spec_depends)
    if (ARG_SPECS_FILE)
        list(APPEND spec_args --specs-file ${ARG_SPECS_FILE})
        set(spec_depends ${ARG_SPECS_FILE})
    endif ()
    set(shape_args)
    foreach (s IN LISTS ARG_SHAPES)
        if (NOT s MATCHES "^[1-9][0-9]*x[1-9][0-9]*x[1-9][0-9]*$")
            message(FATAL_ERROR "reluforge_add_kernels(${target}): shape '${s}' is not MxKxN (e.g. 256x784x1024)")
        endif ()
        list(APPEND shape_args --shape ${s})
    endforeach ()
    if (ARG_SHAPES_FILE)
        get_filename_component(ARG_SHAPES_FILE ${ARG_SHAPES_FILE} ABSOLUTE)
        list(APPEND shape_args --shapes-file ${ARG_SHAPES_FILE})
        list(APPEND spec_depends ${ARG_SHAPES_FILE})
    endif ()
    string(REPLACE ";" "," target_list "${ARG_TARGETS}")
    # The arguments, in a file rewritten only when they change: generation depends on it, so a
    # changed spec list or target list reruns it under any generator.
    set(arguments_file ${out}/arguments.txt)
    set(arguments "name=${target}\nnamespace=${ARG_NAMESPACE}\ntargets=${target_list}\ncuda=${ARG_CUDA_CAPABILITIES}\nopencl=${ARG_OPENCL}\ngpu_schedule=${ARG_GPU_SCHEDULE}\nspecs=${ARG_SPECS}\ndb=${ARG_TUNING_DB}\nthreads=${ARG_THREADS}\nshapes=${ARG_SHAPES}\nshapes_file=${ARG_SHAPES_FILE}\n")
    file(CONFIGURE OUTPUT ${arguments_file} CONTENT "${arguments}" @ONLY)
    add_custom_command(
        OUTPUT ${out}/lib${target}.a ${out}/${target}.h ${out}/${target}_registration.cpp
        COMMAND reluforge::gen --name ${target} --namespace ${ARG_NAMESPACE} --target ${target_list}
                ${spec_args} ${shape_args} ${db_args} ${cuda_args} ${opencl_args} ${gpu_schedule_args} --output-dir ${out}
        DEPENDS reluforge::gen $<TARGET_FILE:reluforge::gen> ${arguments_file} ${spec_depends} ${ARG_TUNING_DB}
        COMMENT "reluforge-gen: ${target}"
        VERBATIM)
    add_custom_target(${target}_generate DEPENDS ${out}/lib${target}.a)

    # An object library, so that the registration's static initializer is always linked in.
    add_library(${target} OBJECT ${out}/${target}_registration.cpp)
    add_dependencies(${target} ${target}_generate)
    target_include_directories(${target} PUBLIC ${out})
    target_link_libraries(${target} PUBLIC ${out}/lib${target}.a reluforge::runtime)
endfunction()
