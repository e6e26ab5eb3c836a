// The phone model in the page: model_camera.tflite run by MediaPipe Tasks for Web's
// ImageClassifier (WebAssembly; WebGL for the image), the same task code as the Android
// and iOS SDKs. Its files come from this site (mediapipe/, copied from the npm package
// @mediapipe/tasks-vision 0.10.35, which makes no outside requests); nothing else is fetched.
import { FilesetResolver, ImageClassifier } from "./mediapipe/vision_bundle.mjs";

// The camera model's input: any 112x112 RGB crop of raw 0-255 pixels; it finds the ink,
// fits it into 20x20 and centres it in 28x28 itself (predict's preprocessing, as TF ops).
export const SIZE = 112;

// Why the runtime cannot start in this browser, or null.
export function missing() {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") return "no WebAssembly";
  const canvas = document.createElement("canvas");
  if (!canvas.getContext("webgl2")) return "no WebGL 2";
  return null;
}

// Loads the model; resolves to classify(image) -> ten probabilities, index = digit.
export async function load(modelUrl) {
  const wasm = new URL("mediapipe/wasm", document.baseURI).href;
  const fileset = await FilesetResolver.forVisionTasks(wasm);
  const classifier = await ImageClassifier.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: new URL(modelUrl, document.baseURI).href, delegate: "CPU" },
    runningMode: "IMAGE",
    maxResults: -1,
  });
  return (image) => {
    const probabilities = new Array(10).fill(0);
    for (const c of classifier.classify(image).classifications[0].categories) probabilities[c.index] = c.score;
    return probabilities;
  };
}
