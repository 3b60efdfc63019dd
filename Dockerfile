# One image for every process of the scale-out recipe; the command picks the role.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY schema ./schema
COPY workers ./workers
RUN pip install .
RUN useradd --create-home halo
USER halo
EXPOSE 8000
CMD ["halo-gateway", "serve", "--host", "0.0.0.0"]
