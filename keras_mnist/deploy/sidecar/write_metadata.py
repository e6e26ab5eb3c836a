"""Embeds TFLite model metadata with tflite-support's writer (runs in the phone tools venv).

    python write_metadata.py IN.tflite OUT.tflite SPEC.json

SPEC: name, version, description, author, license, input_name, input_description,
output_name, output_description, labels (list), norm_mean, norm_std.
Imports nothing from keras_mnist: TensorFlow's protobuf cannot live beside it.
"""

import json
import os
import tempfile


def main(src, dst, spec_path):
    from tflite_support import metadata
    from tflite_support.metadata_writers import image_classifier, metadata_info, writer_utils

    with open(spec_path) as f:
        spec = json.load(f)
    model = writer_utils.load_file(src)
    with tempfile.TemporaryDirectory() as tmp:
        labels = os.path.join(tmp, "labels.txt")
        with open(labels, "w") as f:
            f.write("\n".join(spec["labels"]) + "\n")
        writer = image_classifier.MetadataWriter.create_from_metadata_info(
            model,
            general_md=metadata_info.GeneralMd(name=spec["name"], version=spec["version"],
                                               description=spec["description"], author=spec["author"],
                                               licenses=spec["license"]),
            input_md=metadata_info.InputImageTensorMd(
                name=spec["input_name"], description=spec["input_description"],
                norm_mean=spec["norm_mean"], norm_std=spec["norm_std"],
                color_space_type=metadata_info._metadata_fb.ColorSpaceType.RGB,
                tensor_type=writer_utils.get_input_tensor_types(model)[0]),
            output_md=metadata_info.ClassificationTensorMd(
                name=spec["output_name"], description=spec["output_description"],
                label_files=[metadata_info.LabelFileMd(labels)],
                tensor_type=writer_utils.get_output_tensor_types(model)[0]))
        populated = writer.populate()
    # Read it back before writing: the file written is one the SDKs' parser accepts.
    shown = metadata.MetadataDisplayer.with_model_buffer(populated)
    if shown.get_packed_associated_file_list() != ["labels.txt"]:
        raise SystemExit("error: the labels file was not packed into the model")
    json.loads(shown.get_metadata_json())
    writer_utils.save_file(populated, dst)


if __name__ == "__main__":
    import _cli  # Beside this file, first on the path of a script run as a file.

    _cli.run(main, "write_metadata.py IN.tflite OUT.tflite SPEC.json", "the metadata writer does not import")
