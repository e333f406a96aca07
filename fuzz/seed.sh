#!/usr/bin/env bash
# Fill fuzz/corpus/<target>/ with seeds: the committed seeds in fuzz/seeds/
# and crash reproducers in fuzz/regressions/, small project files (testdata/,
# pipelines/) and small files of the shared test data (copied at run time,
# never committed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${CTRAD_TESTDATA:-$root/../shared/testdata}"
max_bytes=65536

copy_small() { # target file...
    local t="$1"; shift
    mkdir -p "$here/corpus/$t"
    for f in "$@"; do
        [ -f "$f" ] || continue
        [ "$(stat -c %s "$f")" -le "$max_bytes" ] || continue
        cp "$f" "$here/corpus/$t/$(echo "${f#"$root"/}" | tr '/' '_')"
    done
}

targets=(nifti nrrd dicom_series rtstruct seg params csv)
for t in "${targets[@]}"; do
    mkdir -p "$here/corpus/$t"
    for d in seeds regressions; do
        [ -d "$here/$d/$t" ] && cp "$here/$d/$t"/* "$here/corpus/$t/"
    done
done
copy_small params "$root"/pipelines/*/*.yaml "$root"/pipelines/*.yaml
copy_small rtstruct "$root"/testdata/studies/*/RS.dcm
copy_small dicom_series "$root"/testdata/studies/*/ct_2/CT0001.dcm
copy_small csv $(find "$root/testdata" -name '*.csv')
copy_small seg "$root"/testdata/seg_highdicom/*.dcm
if [ -d "$shared" ]; then
    copy_small nifti "$shared"/ibsi1/digital_phantom/*.nii.gz "$shared"/ibsi2/digital_phantom/nifti/*/*/*.nii.gz
    copy_small nrrd $(find "$shared" -name '*.nrrd' -o -name '*.nhdr' 2>/dev/null)
    copy_small csv $(find "$shared" -name '*.csv' 2>/dev/null)
    # A few small implicit VR CT slices (the project's own files are explicit VR).
    copy_small dicom_series $(find "$shared" -name '*.dcm' -size -64k 2>/dev/null | sort | head -4)
else
    echo "seed.sh: shared test data not found at $shared; using the project's seeds only" >&2
fi
for t in "${targets[@]}"; do
    echo "$t: $(ls "$here/corpus/$t" | wc -l) inputs"
done
