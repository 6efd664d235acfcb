// The workflow screens' own styles (workflow.css), linked once on first use: the base stylesheet
// stays small for the overview, and the CSP's `style-src 'self'` allows a stylesheet of our origin.

let linked = false;

export function useWorkflowStyles() {
  if (linked || typeof document === 'undefined') return;
  linked = true;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = new URL('./workflow.css', import.meta.url).href;
  document.head.append(link);
}
