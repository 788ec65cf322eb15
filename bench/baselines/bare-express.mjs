// The baseline: bare Express 5 + EJS rendering the bytes the benchmark captured from the app's pages.
import express from 'express';

const app = express();
app.set('view engine', 'ejs');
app.set('views', process.env.BENCH_VIEWS);
app.set('view cache', true);
app.get('/', (_req, res) => res.render('signed-out'));
app.get('/signed-in', (_req, res) => res.render('signed-in'));
app.listen(Number(process.env.PORT), '127.0.0.1');
