export default function Home() {
  return (
    <main>
      <h1>Lifeline on Next.js</h1>
      <p>
        WebSocket endpoint: <code>/ws</code>. Health: <a href="/health">/health</a>, metrics:{" "}
        <a href="/metrics">/metrics</a>.
      </p>
    </main>
  );
}
