/** Draws RGB frames on a canvas: WebGL2 (one texture upload per frame) where present, else 2D `putImageData`. */
import type { RgbImage } from './decode';

export interface FrameRenderer {
  readonly kind: 'webgl2' | '2d';
  draw(frame: RgbImage): void;
}

const VERTEX = `#version 300 es
in vec2 p; out vec2 uv;
void main() { uv = vec2((p.x + 1.0) / 2.0, (1.0 - p.y) / 2.0); gl_Position = vec4(p, 0.0, 1.0); }`;
const FRAGMENT = `#version 300 es
precision mediump float; uniform sampler2D frame; in vec2 uv; out vec4 colour;
void main() { colour = vec4(texture(frame, uv).rgb, 1.0); }`;

function webgl2(canvas: HTMLCanvasElement): FrameRenderer | null {
  const gl = canvas.getContext('webgl2', { antialias: false, preserveDrawingBuffer: true });
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
  gl.bindTexture(gl.TEXTURE_2D, gl.createTexture());
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  return {
    kind: 'webgl2',
    draw(frame) {
      if (canvas.width !== frame.width || canvas.height !== frame.height) [canvas.width, canvas.height] = [frame.width, frame.height];
      gl.viewport(0, 0, frame.width, frame.height);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGB8, frame.width, frame.height, 0, gl.RGB, gl.UNSIGNED_BYTE, frame.data);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    },
  };
}

function canvas2d(canvas: HTMLCanvasElement): FrameRenderer {
  const context = canvas.getContext('2d') as CanvasRenderingContext2D;
  return {
    kind: '2d',
    draw(frame) {
      if (canvas.width !== frame.width || canvas.height !== frame.height) [canvas.width, canvas.height] = [frame.width, frame.height];
      const image = context.createImageData(frame.width, frame.height);
      for (let i = 0, j = 0; i < frame.data.length; i += 3, j += 4) {
        image.data[j] = frame.data[i] as number;
        image.data[j + 1] = frame.data[i + 1] as number;
        image.data[j + 2] = frame.data[i + 2] as number;
        image.data[j + 3] = 255;
      }
      context.putImageData(image, 0, 0);
    },
  };
}

/** WebGL2 where the browser has it (and `prefer2d` is not set), else a 2D context. */
export function frameRenderer(canvas: HTMLCanvasElement, prefer2d = false): FrameRenderer {
  return (prefer2d ? null : webgl2(canvas)) ?? canvas2d(canvas);
}
