# cmake -DOUT=<header> -DSOURCES=<a;b;...> -P HashSources.cmake
# Writes a header defining RELUFORGE_CODEGEN_ID: a hash of everything that decides what a kernel
# compiles to, so that JIT cache keys change whenever the algorithms or schedules do.
set(all "")
foreach (f IN LISTS SOURCES)
    file(SHA256 "${f}" h)
    string(APPEND all "${h}")
endforeach ()
string(SHA256 id "${all}")
string(SUBSTRING "${id}" 0 16 id)
set(text "#pragma once\n#define RELUFORGE_CODEGEN_ID \"${id}\"\n")
if (EXISTS "${OUT}")
    file(READ "${OUT}" old)
endif ()
if (NOT old STREQUAL text)
    file(WRITE "${OUT}" "${text}")
endif ()
