/** Vite's raw text imports (the protocol document, for its test vectors). */
declare module '*.md?raw' {
  const text: string;
  export default text;
}
