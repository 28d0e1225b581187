/**
 * Draws decoded frames on a canvas. WebGL2 on a hardware GPU: the frame's recipe (a keyframe, one warp, or two
 * warps blended) is evaluated by a fragment shader, so each keyframe is uploaded once and a frame costs the CPU
 * only its warps' sampling tables. A 2D context elsewhere: the pixels computed on the CPU and put with
 * `putImageData`. Where WebGL2 itself runs on the CPU (SwiftShader in headless Chromium) the 2D context is the
 * faster one: measured there at 720p, the shader costs 160-220 ms a frame (software texel fetches), uploading CPU
 * pixels to a texture and drawing it 6-17 ms, and `putImageData` 3 ms.
 */
import { pixelsOf, type FrameRecipe, type RgbImage, type WarpPlan } from './decode';

/** How frames are drawn: `auto` (default) is `webgl2` on a hardware GPU and `2d` without one. */
export type Drawing = 'auto' | 'webgl2' | '2d';

export interface FrameRenderer {
  readonly kind: 'webgl2' | '2d';
  draw(frame: FrameRecipe): void;
}

/** GL renderers that run on the CPU (Chromium's SwiftShader, Mesa's llvmpipe / softpipe). */
const SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|software/i;

/** Whether this browser has WebGL2 on a hardware GPU (probed on a canvas of its own, then released). */
function hardwareWebGl2(): boolean {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (gl === null) return false;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const software = info !== null && SOFTWARE_GL.test(String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return !software;
}

/** Bytes of an RGB frame of a recipe's size. */
const frameBytes = (recipe: FrameRecipe) => (recipe.kind === 'blend' ? recipe.a : recipe.image).data.length;

/** Keyframe textures kept on the GPU: an in-between needs two, and playback moves forwards through a segment. */
const TEXTURE_CACHE = 4;

const VERTEX = `#version 300 es
in vec2 p;
void main() { gl_Position = vec4(p, 0.0, 1.0); }`;

/**
 * The CPU's `warp` and `warpBlend` (src/client/decode/warp.ts) per pixel: bilinear from the sampling tables
 * (rows of `axes`: A's x, A's y, B's x, B's y; each texel lower index, upper index, fraction), each warp rounded
 * to 8 bits, then the weighted blend rounded. Images are 8-bit integer textures read with texelFetch, so no
 * filtering or normalisation stands between the shader and the reference's arithmetic.
 */
const FRAGMENT = `#version 300 es
precision highp float;
precision highp int;
precision highp usampler2D;
uniform usampler2D imageA;
uniform usampler2D imageB;
uniform highp sampler2D axes;
uniform int mode;
uniform int height;
uniform float weightA;
uniform float weightB;
out vec4 colour;

vec3 warped(usampler2D image, int row, ivec2 p) {
  vec3 ax = texelFetch(axes, ivec2(p.x, row), 0).xyz;
  vec3 ay = texelFetch(axes, ivec2(p.y, row + 1), 0).xyz;
  ivec2 lo = ivec2(int(ax.x), int(ay.x));
  ivec2 hi = ivec2(int(ax.y), int(ay.y));
  vec3 v00 = vec3(texelFetch(image, lo, 0).rgb);
  vec3 v01 = vec3(texelFetch(image, ivec2(hi.x, lo.y), 0).rgb);
  vec3 v10 = vec3(texelFetch(image, ivec2(lo.x, hi.y), 0).rgb);
  vec3 v11 = vec3(texelFetch(image, hi, 0).rgb);
  vec3 left = v00 + (v10 - v00) * ay.z;
  return floor(left + (v01 + (v11 - v01) * ay.z - left) * ax.z + 0.5);
}

void main() {
  ivec2 p = ivec2(int(gl_FragCoord.x), height - 1 - int(gl_FragCoord.y));
  vec3 v;
  if (mode == 0) v = vec3(texelFetch(imageA, p, 0).rgb);
  else if (mode == 1) v = warped(imageA, 0, p);
  else v = floor(warped(imageA, 0, p) * weightA + warped(imageB, 2, p) * weightB + 0.5);
  colour = vec4(v / 255.0, 1.0);
}`;

const MODE = { still: 0, warp: 1, blend: 2 } as const;

function webgl2(canvas: HTMLCanvasElement): FrameRenderer | null {
  // frames are opaque: an opaque canvas spares the compositor a blend of every frame
  const gl = canvas.getContext('webgl2', { antialias: false, preserveDrawingBuffer: true, alpha: false });
  if (gl === null) return null;
  const shader = (type: number, source: string) => {
    const s = gl.createShader(type) as WebGLShader;
    gl.shaderSource(s, source);
    gl.compileShader(s);
    return s;
  };
  const program = gl.createProgram();
  gl.attachShader(program, shader(gl.VERTEX_SHADER, VERTEX));
  gl.attachShader(program, shader(gl.FRAGMENT_SHADER, FRAGMENT));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) return null;
  gl.useProgram(program);
  gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
  const at = gl.getAttribLocation(program, 'p');
  gl.enableVertexAttribArray(at);
  gl.vertexAttribPointer(at, 2, gl.FLOAT, false, 0, 0);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  const uniform = (name: string) => gl.getUniformLocation(program, name);
  gl.uniform1i(uniform('imageA'), 0);
  gl.uniform1i(uniform('imageB'), 1);
  gl.uniform1i(uniform('axes'), 2);
  const modeAt = uniform('mode');
  const heightAt = uniform('height');
  const weightAAt = uniform('weightA');
  const weightBAt = uniform('weightB');

  const newTexture = () => {
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return texture;
  };
  // least recently drawn first; a Map iterates in insertion order
  const images = new Map<RgbImage, WebGLTexture>();
  const bindImage = (unit: number, image: RgbImage) => {
    let texture = images.get(image);
    gl.activeTexture(gl.TEXTURE0 + unit);
    if (texture === undefined) {
      texture = newTexture();
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGB8UI, image.width, image.height, 0, gl.RGB_INTEGER, gl.UNSIGNED_BYTE, image.data);
      for (const [old, t] of images) {
        if (images.size < TEXTURE_CACHE) break;
        gl.deleteTexture(t);
        images.delete(old);
      }
    } else {
      images.delete(image);
      gl.bindTexture(gl.TEXTURE_2D, texture);
    }
    images.set(image, texture);
  };

  gl.activeTexture(gl.TEXTURE2);
  const axesTexture = newTexture();
  let axes = new Float32Array(0);
  let axesWidth = 0;
  const putAxes = (row: number, axis: WarpPlan['xs']) => {
    for (let i = 0, o = row * axesWidth * 3; i < axis.f.length; i++, o += 3) {
      axes[o] = axis.i0[i] as number;
      axes[o + 1] = axis.i1[i] as number;
      axes[o + 2] = axis.f[i] as number;
    }
  };
  const uploadAxes = (width: number, height: number, planA: WarpPlan, planB?: WarpPlan) => {
    gl.activeTexture(gl.TEXTURE2);
    gl.bindTexture(gl.TEXTURE_2D, axesTexture);
    const size = Math.max(width, height);
    const grown = size !== axesWidth;
    if (grown) {
      axesWidth = size;
      axes = new Float32Array(size * 4 * 3);
    }
    putAxes(0, planA.xs);
    putAxes(1, planA.ys);
    if (planB !== undefined) {
      putAxes(2, planB.xs);
      putAxes(3, planB.ys);
    }
    if (grown) gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGB32F, size, 4, 0, gl.RGB, gl.FLOAT, axes);
    else gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, size, planB === undefined ? 2 : 4, gl.RGB, gl.FLOAT, axes);
  };

  return {
    kind: 'webgl2',
    draw(frame) {
      const first = frame.kind === 'blend' ? frame.a : frame.image;
      const { width, height } = first;
      if (canvas.width !== width || canvas.height !== height) [canvas.width, canvas.height] = [width, height];
      gl.viewport(0, 0, width, height);
      bindImage(0, first);
      if (frame.kind === 'warp') uploadAxes(width, height, frame.plan);
      if (frame.kind === 'blend') {
        bindImage(1, frame.b);
        uploadAxes(width, height, frame.planA, frame.planB);
        gl.uniform1f(weightAAt, frame.weightA);
        gl.uniform1f(weightBAt, frame.weightB);
      }
      gl.uniform1i(modeAt, MODE[frame.kind]);
      gl.uniform1i(heightAt, height);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    },
  };
}

function canvas2d(canvas: HTMLCanvasElement): FrameRenderer {
  // frames are opaque: an opaque canvas spares the compositor a blend of every frame (headless Chromium on software
  // GL showed 28 frames/s of a 1280x720 canvas doing nothing but putImageData, 59 with alpha: false)
  const context = canvas.getContext('2d', { alpha: false }) as CanvasRenderingContext2D;
  let image: ImageData | null = null;
  let words = new Uint32Array(0);
  let pixels = new Uint8Array(0);
  // ImageData is RGBA in memory: one little-endian word per pixel is 0xAABBGGRR
  const opaque = new Uint8Array(new Uint32Array([0xff000000]).buffer)[3] === 0xff;
  return {
    kind: '2d',
    draw(recipe) {
      if (pixels.length !== frameBytes(recipe)) pixels = new Uint8Array(frameBytes(recipe));
      const frame = pixelsOf(recipe, pixels);
      if (canvas.width !== frame.width || canvas.height !== frame.height) [canvas.width, canvas.height] = [frame.width, frame.height];
      if (image === null || image.width !== frame.width || image.height !== frame.height) {
        image = context.createImageData(frame.width, frame.height);
        words = new Uint32Array(image.data.buffer);
      }
      const rgb = frame.data;
      if (opaque) {
        for (let i = 0, j = 0; j < words.length; i += 3, j++) words[j] = 0xff000000 | (rgb[i + 2]! << 16) | (rgb[i + 1]! << 8) | rgb[i]!;
      } else {
        const rgba = image.data;
        for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
          rgba[j] = rgb[i]!;
          rgba[j + 1] = rgb[i + 1]!;
          rgba[j + 2] = rgb[i + 2]!;
          rgba[j + 3] = 255;
        }
      }
      context.putImageData(image, 0, 0);
    },
  };
}

/** Draws as `drawing` says; `webgl2` where the browser lacks it falls back to `2d`. */
export function frameRenderer(canvas: HTMLCanvasElement, drawing: Drawing = 'auto'): FrameRenderer {
  const gl = drawing === 'webgl2' || (drawing === 'auto' && hardwareWebGl2()) ? webgl2(canvas) : null;
  return gl ?? canvas2d(canvas);
}
